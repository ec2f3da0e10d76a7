// SPDX-License-Identifier: Apache-2.0
// The deny list feed parser (src/denylist/feed_parser.h): the whole input is a downloaded
// feed, parsed in each of the formats.
//
// Promises checked: parsing never fails or crashes, whatever the bytes; the prefixes are
// sorted, unique and none inside another; each has its host bits clear, a length of 1 to
// the family's maximum, and prints to text that parses back to itself; every entry read is
// either kept, a duplicate or covered; bad lines are counted, at most the asked-for few are
// kept, in order, with line numbers within the input and printable text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/denylist/feed_parser.h"
#include "src/denylist/prefix_set.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

using namespace flowwall::denylist;

void check(const ParsedFeed& feed, size_t reported) {
    FUZZ_CHECK(feed.format != FeedFormat::automatic, "the format used was not decided");
    FUZZ_CHECK(feed.entries == feed.prefixes.size() + feed.folded.duplicates + feed.folded.covered,
               "entries read do not add up");
    FUZZ_CHECK(feed.first_bad_lines.size() <= reported, "more bad lines kept than asked for");
    FUZZ_CHECK(feed.first_bad_lines.size() <= feed.bad_lines, "bad lines kept but not counted");
    size_t previous_line = 0;
    for (const auto& bad : feed.first_bad_lines) {
        FUZZ_CHECK(bad.line > previous_line && bad.line <= feed.lines, std::to_string(bad.line));
        previous_line = bad.line;
        FUZZ_CHECK(!bad.reason.empty(), "a bad line without a reason");
        FUZZ_CHECK(bad.text.size() <= 80, bad.text);
        for (char c : bad.text)
            FUZZ_CHECK(c >= 0x20 && c < 0x7f, "unprintable text of a bad line");
    }
    for (size_t i = 0; i < feed.prefixes.size(); ++i) {
        const IpPrefix& prefix = feed.prefixes[i];
        FUZZ_CHECK(prefix.length >= 1 && prefix.length <= prefix.address.max_prefix_length(),
                   prefix.to_string());
        FUZZ_CHECK(masked(prefix.address, prefix.length) == prefix.address, prefix.to_string());
        auto again = parse_listed_prefix(prefix.to_string());
        FUZZ_CHECK(again.ok() && again.value() == prefix, prefix.to_string());
        if (i > 0) {
            FUZZ_CHECK(prefix_less(feed.prefixes[i - 1], prefix), "not sorted and unique");
            FUZZ_CHECK(!covers(feed.prefixes[i - 1], prefix), "a prefix inside the one before");
        }
    }
    FUZZ_CHECK(diff(feed.prefixes, feed.prefixes).empty(), "a set differs from itself");
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall::fuzz;
    const std::string_view text = as_text(data, size);
    for (auto format : {FeedFormat::automatic, FeedFormat::prefix_lines, FeedFormat::tor_exits}) {
        ParseOptions options;
        options.format = format;
        options.normalise_host_bits = size % 2 == 0;
        options.reported_bad_lines = 3;
        check(parse_feed(text, options), 3);
    }
    return 0;
}
