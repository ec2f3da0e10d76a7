// SPDX-License-Identifier: Apache-2.0
// The text formats deny lists come in, parsed into a folded prefix set:
//   - one address or prefix per line, `#` and `;` start a comment anywhere on a line
//     (FireHOL netsets, Spamhaus DROP/EDROP "192.0.2.0/24 ; SBL123", Emerging Threats);
//   - the Tor exit list ("ExitNode <fp>", "Published ...", "ExitAddress 192.0.2.7 2024-..."),
//     where only ExitAddress lines name addresses.
// A line that is neither is a bad line: counted, the first few kept with their numbers, and
// never a reason to drop more than the feed says (a bad line is skipped, not guessed at).
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/denylist/prefix_set.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flowwall::denylist {

enum class FeedFormat {
    automatic,    // the Tor format when an ExitNode/ExitAddress line comes first, else lines
    prefix_lines, // one address or prefix per line
    tor_exits,    // the Tor exit list
};
Result<FeedFormat> parse_feed_format(std::string_view text); // "auto", "lines", "tor"
const char* feed_format_name(FeedFormat format);

struct BadLine {
    size_t line = 0;    // 1-based
    std::string text;   // the line, cut at 80 characters
    std::string reason; // what was wrong with it
};

struct ParseOptions {
    FeedFormat format = FeedFormat::automatic;
    // 198.51.100.7/24: true clears the host bits (and counts it), false makes it a bad line.
    bool normalise_host_bits = true;
    size_t reported_bad_lines = 5; // how many bad lines are kept to show
};

struct ParsedFeed {
    FeedFormat format = FeedFormat::prefix_lines; // the one used (never automatic)
    std::vector<IpPrefix> prefixes;               // folded: sorted, no duplicates or nesting
    size_t lines = 0;                             // lines read, comments included
    size_t entries = 0;                           // addresses and prefixes read
    size_t bad_lines = 0;
    size_t normalised = 0; // prefixes whose host bits were cleared
    FoldCounts folded;     // duplicates and prefixes inside others, dropped
    std::vector<BadLine> first_bad_lines;

    // "3 bad lines (line 4: 'foo': not an address, ...)" or "" when none.
    std::string bad_lines_summary() const;
};

// Never fails: everything wrong with the text is in bad_lines. Linear in the text (plus the
// sort of the prefixes): a million-line feed is parsed in well under a second.
ParsedFeed parse_feed(std::string_view text, const ParseOptions& options = {});

// One address or prefix as a person types it (the CLI, a static list): host bits set are an
// error here, since a person can be asked to fix it; /0 is refused as everywhere.
Result<IpPrefix> parse_listed_prefix(std::string_view text);

} // namespace flowwall::denylist
