// SPDX-License-Identifier: Apache-2.0
#include "src/cli/deny_render.h"

#include <gtest/gtest.h>

namespace flowwall::cli {
namespace {

using nlohmann::json;

json feed_list() {
    return {{"name", "tor-exits"},
            {"id", 2},
            {"role", "deny"},
            {"source", "feed"},
            {"direction", "inbound"},
            {"url", "http://127.0.0.1:8080/tor.txt"},
            {"format", "tor"},
            {"refresh", "30m"},
            {"prefixes", 1234567},
            {"dropped", {{"packets", 42}, {"bytes", 12345}}},
            {"updated_at", "2026-12-04T19:00:00Z"},
            {"checked_at", "2026-12-04T19:30:00Z"},
            {"in_force", true},
            {"kernel_error", nullptr},
            {"last_error", "feed http://127.0.0.1:8080/tor.txt answered HTTP 500"},
            {"refresh_failures", 3},
            {"covers_protected", {"198.18.0.0/16 covers 198.18.2.3/32"}},
            {"last_parse", {{"bad_lines", 1}, {"bad_lines_summary", "1 bad line (line 3 'x': y)"}}},
            {"entries", {"198.51.100.21/32"}},
            {"entries_truncated", true}};
}

TEST(DenyRender, ListsShowCountsDropsAndTheStateOfEach) {
    std::string text = render_deny_lists(json::array({feed_list()}));
    EXPECT_NE(text.find("NAME"), std::string::npos);
    EXPECT_NE(text.find("tor-exits"), std::string::npos);
    EXPECT_NE(text.find("1.2M"), std::string::npos) << text;
    EXPECT_NE(text.find("12.3k"), std::string::npos) << text;
    EXPECT_NE(text.find("last good version kept: feed http://127.0.0.1:8080/tor.txt answered "
                        "HTTP 500"),
              std::string::npos)
        << text;
    EXPECT_EQ(render_deny_lists(json::array()).rfind("no lists", 0), 0u);
}

TEST(DenyRender, OneListShowsFeedParseOverlapsAndEntries) {
    std::string text = render_deny_list(feed_list());
    for (const char* expected :
         {"list:       tor-exits (id 2)",
          "feed:       http://127.0.0.1:8080/tor.txt (format tor, "
          "every 30m)",
          "3 refreshes not applied", "bad lines:  1 bad line (line 3 'x': y)",
          "198.18.0.0/16 covers 198.18.2.3/32", "  198.51.100.21/32", "--limit N"})
        EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
}

TEST(DenyRender, RefreshAnswers) {
    EXPECT_EQ(render_deny_refresh({{"name", "a"}, {"applied", false}, {"unchanged", true}}),
              "list a: the feed has not changed\n");
    EXPECT_EQ(render_deny_refresh({{"name", "a"}, {"applied", false}, {"reason", "HTTP 500"}}),
              "list a: refresh not applied, the last good version stays: HTTP 500\n");
    EXPECT_EQ(
        render_deny_refresh(
            {{"name", "a"}, {"applied", true}, {"prefixes", 10}, {"added", 2}, {"removed", 1}}),
        "list a: 10 prefixes in force (+2 -1)\n");
}

TEST(DenyRender, TheOutsidePartOfStatus) {
    json outside{{"deny_lists",
                  {{"lists", 2},
                   {"prefixes", 10},
                   {"failing", {{{"name", "tor"}, {"reason", "HTTP 500"}}}}}},
                 {"uplinks",
                  {{{"name", "eth0"}, {"xdp_mode", "native"}, {"error", nullptr}},
                   {{"name", "eth1"}, {"xdp_mode", nullptr}, {"error", "busy"}}}},
                 {"entities", 1}};
    EXPECT_EQ(render_outside(outside),
              "\ndeny lists: 2 lists, 10 prefixes; uplinks: eth0 (native) eth1 (NO XDP); "
              "entities: 1\n  list tor keeps its last good version: HTTP 500\n  uplink eth1: "
              "busy\n");
}

TEST(DenyRender, Entities) {
    EXPECT_EQ(render_entities(json::array(
                  {{{"name", "payments-api"}, {"id", 300}, {"prefixes", {"203.0.113.0/24"}}}})),
              "payments-api (id 300): 203.0.113.0/24\n");
}

} // namespace
} // namespace flowwall::cli
