// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/refresh_check.h"

#include <cmath>

namespace flowwall::denylist {

std::optional<std::string> refresh_refusal(const ParsedFeed& feed, size_t previous,
                                           const FeedLimits& limits) {
    if (feed.bad_lines > limits.max_bad_lines)
        return feed.bad_lines_summary() + ": more than the " +
               std::to_string(limits.max_bad_lines) +
               " allowed (max_bad_lines); is the feed in the format the list says?";
    if (feed.prefixes.empty() && previous > 0)
        return "the feed is empty but had " + std::to_string(previous) +
               " prefixes; an empty answer is taken for a broken feed";
    if (previous > 0 && feed.prefixes.size() < previous) {
        double share = 1.0 - static_cast<double>(feed.prefixes.size()) / previous;
        if (share > limits.max_shrink)
            return "the feed shrank from " + std::to_string(previous) + " to " +
                   std::to_string(feed.prefixes.size()) + " prefixes (" +
                   std::to_string(static_cast<int>(std::lround(share * 100))) +
                   "%), more than max_shrink " +
                   std::to_string(static_cast<int>(std::lround(limits.max_shrink * 100))) + "%";
    }
    return std::nullopt;
}

} // namespace flowwall::denylist
