// SPDX-License-Identifier: Apache-2.0
// Whether a freshly parsed feed may replace the version in force. A feed that comes back
// empty, much smaller or full of lines we cannot read is far more often a broken mirror, a
// captive portal or a changed format than a real change; applying it would open the
// firewall to everything the list named a minute ago. So such a refresh is refused and the
// last good version stays.
#pragma once

#include "src/denylist/feed_parser.h"
#include "src/denylist/list_spec.h"

#include <cstddef>
#include <optional>
#include <string>

namespace flowwall::denylist {

// nullopt: apply it. Otherwise the reason, in words fit for a log line and `status`.
// `previous` is the size of the version in force (0 for a feed never applied yet).
std::optional<std::string> refresh_refusal(const ParsedFeed& feed, size_t previous,
                                           const FeedLimits& limits);

} // namespace flowwall::denylist
