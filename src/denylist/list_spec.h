// SPDX-License-Identifier: Apache-2.0
// What a named list is: its role (deny, or allow which wins over every deny), where its
// prefixes come from (by hand, or a feed: a file or an http(s) URL refreshed on an interval),
// where it acts (direction) and the limits a feed refresh must meet to be applied.
#pragma once

#include "src/common/result.h"
#include "src/denylist/feed_parser.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace flowwall::denylist {

enum class ListRole { deny, allow };
enum class ListSource { static_prefixes, feed };
// inbound: sources dropped in XDP on the uplinks and refused by TC into a workload;
// outbound: a workload's connection to a listed address refused in TC; both.
enum class Direction { inbound, outbound, both };

Result<Direction> parse_direction(std::string_view text);
const char* direction_name(Direction direction);
const char* role_name(ListRole role);

struct FeedLimits {
    std::chrono::milliseconds refresh_interval{std::chrono::hours(1)};
    std::chrono::milliseconds timeout{std::chrono::seconds(30)}; // the whole download
    size_t max_bytes = size_t{64} << 20;                         // the body, decompressed
    // A refresh that would drop more than this share of the list is refused (a truncated
    // or emptied feed must not open the firewall to what it listed a minute ago).
    double max_shrink = 0.5;
    size_t max_bad_lines = 100; // more: the feed is likely not the format we think
};

struct ListSpec {
    std::string name;
    ListRole role = ListRole::deny;
    ListSource source = ListSource::static_prefixes;
    Direction direction = Direction::inbound;
    std::string url; // feed: http(s)://..., file:///... or an absolute path
    FeedFormat format = FeedFormat::automatic;
    FeedLimits limits;

    bool is_feed() const { return source == ListSource::feed; }
};

// List names: 1-63 of [a-z0-9._-], starting with a letter or digit (they name files in the
// state dir and metrics labels).
Status validate_list_name(std::string_view name);

// A feed's location: http://, https://, file:// or an absolute path.
Status validate_feed_url(std::string_view url);

// The spec as the API and the state file write it, and back; from_json checks everything and
// says which field was wrong. Missing fields take the defaults above.
nlohmann::json to_json(const ListSpec& spec);
Result<ListSpec> list_spec_from_json(const nlohmann::json& document);

} // namespace flowwall::denylist
