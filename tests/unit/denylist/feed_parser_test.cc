// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/feed_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flowwall::denylist {
namespace {

std::vector<std::string> texts(const ParsedFeed& feed) {
    std::vector<std::string> out;
    for (const auto& prefix : feed.prefixes)
        out.push_back(prefix.to_string());
    return out;
}

TEST(FeedParser, ReadsFireholNetsetWithCommentsAndBlankLines) {
    const char* text = "#\n# firehol_level1\n#\n# Maintainer      : FireHOL\n\n"
                       "203.0.113.0/24\n198.51.100.7\n  192.0.2.128/25  \n";
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.format, FeedFormat::prefix_lines);
    EXPECT_EQ(texts(feed),
              (std::vector<std::string>{"192.0.2.128/25", "198.51.100.7/32", "203.0.113.0/24"}));
    EXPECT_EQ(feed.entries, 3u);
    EXPECT_EQ(feed.bad_lines, 0u);
    EXPECT_EQ(feed.lines, 8u);
}

TEST(FeedParser, ReadsSpamhausDropWithSemicolonCommentsAndCrlf) {
    const char* text = "; Spamhaus DROP List 2026/12/04 - (c) 2026 The Spamhaus Project\r\n"
                       "; Last-Modified: Fri, 04 Dec 2026 10:00:00 GMT\r\n"
                       "198.51.100.0/24 ; SBL123456\r\n"
                       "203.0.113.64/26;SBL654321\r\n";
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.bad_lines, 0u) << feed.bad_lines_summary();
    EXPECT_EQ(texts(feed), (std::vector<std::string>{"198.51.100.0/24", "203.0.113.64/26"}));
}

TEST(FeedParser, ReadsEmergingThreatsAddressesAndIpv6Forms) {
    const char* text = "# Emerging Threats\n198.51.100.9\n2001:DB8::1\n2001:db8:0:0:0:0:0:2\n"
                       "2001:db8:1::/48\n::ffff:198.51.100.10\n2001:db8:2::/48 # inline\n";
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.bad_lines, 0u) << feed.bad_lines_summary();
    // Sorted by bytes: the IPv4-mapped address (::ffff:...) comes first of the IPv6 ones.
    EXPECT_EQ(texts(feed), (std::vector<std::string>{"198.51.100.9/32", "::ffff:198.51.100.10/128",
                                                     "2001:db8::1/128", "2001:db8::2/128",
                                                     "2001:db8:1::/48", "2001:db8:2::/48"}));
}

TEST(FeedParser, ReadsTheTorExitListAndOnlyItsExitAddresses) {
    const char* text = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                       "Published 2026-12-04 03:46:59\nLastStatus 2026-12-04 08:00:00\n"
                       "ExitAddress 198.51.100.21 2026-12-04 08:10:41\n"
                       "ExitNode 0091174DB58DE2E7DB5E6C5C7DF8F98F5E3A8EB5\n"
                       "ExitAddress 2001:db8::21 2026-12-04 08:12:02\n"
                       "ExitAddress 198.51.100.21 2026-12-04 09:00:00\n";
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.format, FeedFormat::tor_exits);
    EXPECT_EQ(feed.bad_lines, 0u) << feed.bad_lines_summary();
    EXPECT_EQ(texts(feed), (std::vector<std::string>{"198.51.100.21/32", "2001:db8::21/128"}));
    EXPECT_EQ(feed.folded.duplicates, 1u);
}

TEST(FeedParser, TorFormatRefusesOtherLinesAndPrefixes) {
    auto feed = parse_feed("ExitNode X\nExitAddress 198.51.100.0/24 2026-12-04\n"
                           "198.51.100.1\nExitAddress nonsense\n",
                           ParseOptions{.format = FeedFormat::tor_exits});
    EXPECT_TRUE(feed.prefixes.empty());
    EXPECT_EQ(feed.bad_lines, 3u);
    ASSERT_EQ(feed.first_bad_lines.size(), 3u);
    EXPECT_EQ(feed.first_bad_lines[0].line, 2u);
    EXPECT_NE(feed.first_bad_lines[0].reason.find("one address"), std::string::npos);
    EXPECT_EQ(feed.first_bad_lines[1].line, 3u);
    EXPECT_EQ(feed.first_bad_lines[2].line, 4u);
}

TEST(FeedParser, CountsBadLinesAndReportsTheFirstFewWithNumbers) {
    std::string text = "198.51.100.1\n";
    for (int i = 0; i < 12; ++i)
        text += "bad-" + std::to_string(i) + "\n";
    text += "198.51.100.0/33\n198.51.100.2 198.51.100.3\n0.0.0.0/0\n::/0\n[2001:db8::1]\n"
            "fe80::1%eth0\n198.51.100.2/\n";
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.prefixes.size(), 1u);
    EXPECT_EQ(feed.bad_lines, 19u);
    ASSERT_EQ(feed.first_bad_lines.size(), 5u); // the default
    EXPECT_EQ(feed.first_bad_lines[0].line, 2u);
    EXPECT_EQ(feed.first_bad_lines[0].text, "bad-0");
    std::string summary = feed.bad_lines_summary();
    EXPECT_EQ(summary.rfind("19 bad lines (line 2 'bad-0': not an IPv4", 0), 0u) << summary;
    EXPECT_NE(summary.find("; ...)"), std::string::npos);

    auto whole = parse_feed("0.0.0.0/0\n");
    ASSERT_EQ(whole.first_bad_lines.size(), 1u);
    EXPECT_NE(whole.first_bad_lines[0].reason.find("every address"), std::string::npos);
    auto two_words = parse_feed("198.51.100.2 198.51.100.3\n");
    EXPECT_NE(two_words.first_bad_lines[0].reason.find("more than one word"), std::string::npos);
    auto length = parse_feed("198.51.100.0/33\n");
    EXPECT_NE(length.first_bad_lines[0].reason.find("length"), std::string::npos);
}

TEST(FeedParser, BinaryGarbageIsBadLinesShownSafely) {
    std::string text = "\x01\x02\xff\xfe 198.51.100.1\n\x1b[31mred\n";
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.prefixes.size(), 0u);
    EXPECT_EQ(feed.bad_lines, 2u);
    for (const auto& bad : feed.first_bad_lines)
        for (char c : bad.text)
            EXPECT_TRUE(c >= 0x20 && c < 0x7f) << bad.text;
}

TEST(FeedParser, HostBitsAreNormalisedAndCountedOrRefused) {
    auto normalised = parse_feed("198.51.100.7/24\n2001:db8::1/32\n");
    EXPECT_EQ(texts(normalised), (std::vector<std::string>{"198.51.100.0/24", "2001:db8::/32"}));
    EXPECT_EQ(normalised.normalised, 2u);
    auto strict = parse_feed("198.51.100.7/24\n198.51.100.0/24\n",
                             ParseOptions{.normalise_host_bits = false});
    EXPECT_EQ(texts(strict), (std::vector<std::string>{"198.51.100.0/24"}));
    ASSERT_EQ(strict.bad_lines, 1u);
    EXPECT_NE(strict.first_bad_lines[0].reason.find("host bits"), std::string::npos);
}

TEST(FeedParser, FoldsDuplicatesAndPrefixesInsideOthers) {
    auto feed = parse_feed("198.51.100.0/24\n198.51.100.0/24\n198.51.100.128/25\n198.51.100.9\n"
                           "198.51.0.0/16\n203.0.113.1\n2001:db8::/32\n2001:db8:5::/48\n"
                           "2001:db9::1\n");
    EXPECT_EQ(texts(feed), (std::vector<std::string>{"198.51.0.0/16", "203.0.113.1/32",
                                                     "2001:db8::/32", "2001:db9::1/128"}));
    EXPECT_EQ(feed.folded.duplicates, 1u);
    EXPECT_EQ(feed.folded.covered, 4u);
    EXPECT_EQ(feed.entries, 9u);
}

TEST(FeedParser, AHugeFeedParsesCompletely) {
    // 1,000,000 distinct /32s in 198.18.0.0/15's neighbourhood plus IPv6 /64s, one bad line
    // every 100,000: the counts must be exact and nothing dropped.
    std::string text;
    text.reserve(24u << 20);
    size_t expected = 0;
    for (uint32_t i = 0; i < 800000; ++i) {
        uint32_t address = (100u << 24) + i * 7; // 100.0.0.0 onwards, no two equal
        text += std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
                std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255) + "\n";
        ++expected;
        if (i % 100000 == 0)
            text += "garbage line\n";
    }
    char line[64];
    for (uint32_t i = 0; i < 200000; ++i) {
        std::snprintf(line, sizeof(line), "2001:db8:%x:%x::/64\n", i >> 16, i & 0xffff);
        text += line;
        ++expected;
    }
    auto feed = parse_feed(text);
    EXPECT_EQ(feed.prefixes.size(), expected);
    EXPECT_EQ(feed.bad_lines, 8u);
    EXPECT_EQ(feed.folded.duplicates + feed.folded.covered, 0u);
    EXPECT_TRUE(std::is_sorted(feed.prefixes.begin(), feed.prefixes.end(), prefix_less));
}

TEST(FeedParser, EmptyAndCommentOnlyFeedsHaveNoPrefixesAndNoBadLines) {
    for (const char* text : {"", "\n\n", "# nothing\n; here\n", "   \t\n"}) {
        auto feed = parse_feed(text);
        EXPECT_TRUE(feed.prefixes.empty()) << text;
        EXPECT_EQ(feed.bad_lines, 0u) << text;
    }
}

TEST(FeedParser, ListedPrefixesFromPeopleRefuseHostBitsWithASuggestion) {
    EXPECT_EQ(parse_listed_prefix(" 198.51.100.0/24 ").value().to_string(), "198.51.100.0/24");
    EXPECT_EQ(parse_listed_prefix("2001:db8::1").value().to_string(), "2001:db8::1/128");
    auto host_bits = parse_listed_prefix("198.51.100.7/24");
    ASSERT_FALSE(host_bits.ok());
    EXPECT_NE(host_bits.error().message.find("did you mean 198.51.100.0/24?"), std::string::npos)
        << host_bits.error().message;
    EXPECT_FALSE(parse_listed_prefix("0.0.0.0/0").ok());
    EXPECT_FALSE(parse_listed_prefix("web").ok());
}

TEST(FeedParser, FormatNames) {
    EXPECT_EQ(parse_feed_format("tor").value(), FeedFormat::tor_exits);
    EXPECT_EQ(parse_feed_format("lines").value(), FeedFormat::prefix_lines);
    EXPECT_EQ(parse_feed_format("auto").value(), FeedFormat::automatic);
    auto bad = parse_feed_format("csv");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("'csv'"), std::string::npos);
}

} // namespace
} // namespace flowwall::denylist
