// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/list_spec.h"
#include "src/denylist/refresh_check.h"

#include <gtest/gtest.h>

namespace flowwall::denylist {
namespace {

using nlohmann::json;

TEST(ListSpec, AFeedRoundTripsThroughJson) {
    auto spec = list_spec_from_json({{"name", "tor-exits"},
                                     {"url", "https://check.torproject.org/exit-addresses"},
                                     {"format", "tor"},
                                     {"direction", "both"},
                                     {"refresh", "30m"},
                                     {"timeout", "10s"},
                                     {"max_bytes", 1048576},
                                     {"max_shrink", 0.25},
                                     {"max_bad_lines", 3}});
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    EXPECT_TRUE(spec.value().is_feed());
    EXPECT_EQ(spec.value().format, FeedFormat::tor_exits);
    EXPECT_EQ(spec.value().direction, Direction::both);
    EXPECT_EQ(spec.value().limits.refresh_interval, std::chrono::minutes(30));
    auto again = list_spec_from_json(to_json(spec.value()));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(to_json(again.value()), to_json(spec.value()));
}

TEST(ListSpec, DefaultsAreAStaticInboundDenyList) {
    auto spec = list_spec_from_json({{"name", "mine"}});
    ASSERT_TRUE(spec.ok());
    EXPECT_FALSE(spec.value().is_feed());
    EXPECT_EQ(spec.value().role, ListRole::deny);
    EXPECT_EQ(spec.value().direction, Direction::inbound);
    EXPECT_EQ(
        to_json(spec.value()),
        (json{{"name", "mine"}, {"role", "deny"}, {"source", "static"}, {"direction", "inbound"}}));
}

TEST(ListSpec, RefusesBadFieldsAndSaysWhich) {
    struct Case {
        json document;
        const char* says;
    };
    for (const auto& [document, says] : std::vector<Case>{
             {json::array(), "JSON object"},
             {{{"name", "Bad Name"}}, "bad list name"},
             {{{"name", ""}}, "1-63"},
             {{{"name", "-x"}}, "bad list name"},
             {{{"name", "a"}, {"direction", "sideways"}}, "unknown direction"},
             {{{"name", "a"}, {"role", "maybe"}}, "\"role\""},
             {{{"name", "a"}, {"source", "feed"}}, "unsupported feed location"},
             {{{"name", "a"}, {"url", "ftp://x/y"}}, "unsupported feed location"},
             {{{"name", "a"}, {"url", "relative/path"}}, "unsupported feed location"},
             {{{"name", "a"}, {"url", "/x"}, {"refresh", "10"}}, "\"refresh\""},
             {{{"name", "a"}, {"url", "/x"}, {"refresh", "100ms"}}, "at least 1s"},
             {{{"name", "a"}, {"url", "/x"}, {"max_shrink", 2}}, "\"max_shrink\""},
             {{{"name", "a"}, {"url", "/x"}, {"max_bytes", 5}}, "\"max_bytes\""},
             {{{"name", "a"}, {"url", "/x"}, {"format", "xml"}}, "unknown feed format"},
             {{{"name", "a"}, {"source", "static"}, {"url", "/x"}}, "static list has no"},
             {{{"name", 5}}, "\"name\" must be a string"},
         }) {
        auto spec = list_spec_from_json(document);
        ASSERT_FALSE(spec.ok()) << document.dump();
        EXPECT_NE(spec.error().message.find(says), std::string::npos)
            << document.dump() << ": " << spec.error().message;
    }
}

ParsedFeed feed_of(size_t prefixes, size_t bad_lines) {
    ParsedFeed feed;
    feed.prefixes.resize(prefixes);
    feed.bad_lines = bad_lines;
    return feed;
}

TEST(RefreshCheck, RefusesEmptyShrunkAndGarbledFeeds) {
    FeedLimits limits; // shrink 50%, 100 bad lines
    EXPECT_FALSE(refresh_refusal(feed_of(100, 0), 100, limits));
    EXPECT_FALSE(refresh_refusal(feed_of(0, 0), 0, limits));    // never had anything
    EXPECT_FALSE(refresh_refusal(feed_of(50, 0), 100, limits)); // exactly the limit
    EXPECT_FALSE(refresh_refusal(feed_of(1000, 100), 10, limits));
    auto empty = refresh_refusal(feed_of(0, 0), 100, limits);
    ASSERT_TRUE(empty);
    EXPECT_NE(empty->find("empty"), std::string::npos);
    auto shrunk = refresh_refusal(feed_of(49, 0), 100, limits);
    ASSERT_TRUE(shrunk);
    EXPECT_NE(shrunk->find("shrank from 100 to 49 prefixes (51%)"), std::string::npos) << *shrunk;
    auto garbled = refresh_refusal(feed_of(1000, 101), 0, limits);
    ASSERT_TRUE(garbled);
    EXPECT_NE(garbled->find("max_bad_lines"), std::string::npos);
    limits.max_shrink = 1.0;
    EXPECT_FALSE(refresh_refusal(feed_of(1, 0), 100, limits));
}

} // namespace
} // namespace flowwall::denylist
