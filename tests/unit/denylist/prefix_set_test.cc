// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/prefix_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flowwall::denylist {
namespace {

IpPrefix p(const char* text) {
    return IpPrefix::parse(text).value();
}

std::vector<IpPrefix> set(std::vector<const char*> texts) {
    std::vector<IpPrefix> prefixes;
    for (const char* text : texts)
        prefixes.push_back(p(text));
    fold(prefixes);
    return prefixes;
}

std::vector<std::string> strings(const std::vector<IpPrefix>& prefixes) {
    std::vector<std::string> out;
    for (const auto& prefix : prefixes)
        out.push_back(prefix.to_string());
    return out;
}

TEST(PrefixSet, MasksAtAnyLength) {
    auto address = IpAddress::parse("198.51.100.255").value();
    EXPECT_EQ(masked(address, 24).to_string(), "198.51.100.0");
    EXPECT_EQ(masked(address, 25).to_string(), "198.51.100.128");
    EXPECT_EQ(masked(address, 1).to_string(), "128.0.0.0");
    EXPECT_EQ(masked(address, 32).to_string(), "198.51.100.255");
    EXPECT_EQ(masked(IpAddress::parse("2001:db8:ffff::1").value(), 36).to_string(),
              "2001:db8:f000::");
}

TEST(PrefixSet, CoversOnlyWithinOneFamily) {
    EXPECT_TRUE(covers(p("198.51.100.0/24"), p("198.51.100.7/32")));
    EXPECT_TRUE(covers(p("198.51.100.0/24"), p("198.51.100.0/24")));
    EXPECT_FALSE(covers(p("198.51.100.0/25"), p("198.51.100.0/24")));
    EXPECT_FALSE(covers(p("198.51.100.0/24"), p("198.51.101.0/32")));
    // The IPv4 bytes of an IPv6 prefix are not an IPv4 prefix.
    EXPECT_FALSE(covers(p("198.0.0.0/8"), p("c600::/8")));
}

TEST(PrefixSet, FoldKeepsDisjointOutermostPrefixes) {
    auto folded = set({"198.51.100.128/25", "198.51.100.0/24", "198.51.101.0/24", "198.51.100.3",
                       "198.51.100.3", "2001:db8::/32", "2001:db8::/33", "198.51.102.0/23"});
    EXPECT_EQ(strings(folded), (std::vector<std::string>{"198.51.100.0/24", "198.51.101.0/24",
                                                         "198.51.102.0/23", "2001:db8::/32"}));
}

TEST(PrefixSet, FoldHandlesNestedChainsAfterALaterSibling) {
    // 198.18/15 contains 198.18/16 contains 198.18.1/24; 203.0.113/24 after them. A naive
    // "compare with the previous element" fold would keep 198.18.1.0/24 after dropping
    // 198.18.0.0/16.
    std::vector<IpPrefix> prefixes{p("198.18.1.0/24"), p("203.0.113.0/24"), p("198.18.0.0/16"),
                                   p("198.18.0.0/15"), p("198.19.0.0/16")};
    auto counts = fold(prefixes);
    EXPECT_EQ(strings(prefixes), (std::vector<std::string>{"198.18.0.0/15", "203.0.113.0/24"}));
    EXPECT_EQ(counts.covered, 3u);
    EXPECT_EQ(counts.duplicates, 0u);
}

TEST(PrefixSet, DiffNamesWhatWasAddedAndRemoved) {
    auto before = set({"198.51.100.0/24", "203.0.113.1", "2001:db8::/32"});
    auto after = set({"198.51.100.0/24", "203.0.113.2", "2001:db8::/32", "2001:db9::/32"});
    auto change = diff(before, after);
    EXPECT_EQ(strings(change.added), (std::vector<std::string>{"203.0.113.2/32", "2001:db9::/32"}));
    EXPECT_EQ(strings(change.removed), (std::vector<std::string>{"203.0.113.1/32"}));
    EXPECT_TRUE(diff(after, after).empty());
    EXPECT_EQ(diff({}, after).added.size(), 4u);
    EXPECT_EQ(diff(after, {}).removed.size(), 4u);
}

TEST(PrefixSet, OverlapsFindCoveringAndCoveredPrefixes) {
    auto list = set({"198.18.0.0/16", "198.19.5.0/24", "198.19.9.9", "203.0.113.0/24"});
    auto guarded = set({"198.18.2.3", "198.19.0.0/16", "192.0.2.1"});
    auto found = overlaps(list, guarded);
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(found[0].listed.to_string(), "198.18.0.0/16");
    EXPECT_EQ(found[0].protected_prefix.to_string(), "198.18.2.3/32");
    EXPECT_EQ(found[1].listed.to_string(), "198.19.5.0/24");
    EXPECT_EQ(found[2].listed.to_string(), "198.19.9.9/32");
    EXPECT_EQ(found[2].protected_prefix.to_string(), "198.19.0.0/16");
    EXPECT_TRUE(overlaps(set({"203.0.113.0/24"}), guarded).empty());
    EXPECT_EQ(overlaps(list, guarded, 1).size(), 1u);
}

} // namespace
} // namespace flowwall::denylist
