// SPDX-License-Identifier: Apache-2.0
// The metrics text: names and labels, escaping, and Prometheus's own checker (promtool) on it.
#include "src/web/metrics.h"
#include "src/web/web_server.h"
#include "tests/support/netns_lab.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace flowwall::web {
namespace {

MetricsInput sample_input() {
    MetricsInput input;
    input.reasons = {{"policy_allow", false, 11}, {"learned", false, 3}, {"blocked", true, 7}};
    input.datapath.connections_blocked = 7;
    input.datapath.connections_learned = 3;
    input.datapath.events_lost = 2;
    input.maps = {{"fw_ipcache_v1", 10, 100}};
    input.sources = {{"docker", false, false, 4}};
    input.identities = {{"web", "learn", 12.5, 2},
                        {"db", "block", std::nullopt, 1},
                        {"we\"ird\\name", "alert", std::nullopt, 0}};
    input.workloads = 3;
    input.model_flows = 2;
    input.audit_records = {{"block", 5}};
    return input;
}

TEST(Metrics, CountersGaugesAndLabels) {
    std::string text = render_metrics(sample_input());
    EXPECT_NE(text.find("flowwall_packets_total{verdict=\"drop\",reason=\"blocked\"} 7"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("flowwall_connections_blocked_total 7"), std::string::npos);
    EXPECT_NE(text.find("flowwall_events_lost_total 2"), std::string::npos);
    EXPECT_NE(text.find("flowwall_map_fill_ratio{map=\"fw_ipcache_v1\"} 0.1"), std::string::npos);
    EXPECT_NE(text.find("flowwall_source_up{source=\"docker\"} 0"), std::string::npos);
    EXPECT_NE(text.find("flowwall_identities{mode=\"learn\"} 1"), std::string::npos);
    EXPECT_NE(text.find("flowwall_identity_learning_remaining_seconds{identity=\"web\"} 12.5"),
              std::string::npos);
    EXPECT_EQ(text.find("flowwall_identity_learning_remaining_seconds{identity=\"db\"}"),
              std::string::npos)
        << "only identities that learn have time left";
    EXPECT_NE(text.find("flowwall_audit_records_total{action=\"block\"} 5"), std::string::npos);
    EXPECT_NE(text.find("flowwall_audit_records_total{action=\"alert\"} 0"), std::string::npos);
    EXPECT_NE(text.find("identity=\"we\\\"ird\\\\name\""), std::string::npos) << "escaped";
}

TEST(Metrics, PromtoolAcceptsTheOutput) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        if (std::getenv("CI") != nullptr)
            FAIL() << "promtool is missing: run ./scripts/install-deps (Debian's prometheus)";
        GTEST_SKIP() << "promtool is missing: run ./scripts/install-deps";
    }
    flowwall::testing::TempDir dir;
    auto file = dir / "metrics.txt";
    flowwall::testing::TempDir::write(file, render_metrics(sample_input()));
    auto result =
        flowwall::testing::Lab::exec("", {"sh", "-c", "promtool check metrics < " + file.string()});
    EXPECT_TRUE(result.ok()) << result.out << result.err;
}

TEST(WebServer, ListenAddresses) {
    EXPECT_EQ(parse_listen_address("127.0.0.1:9190").value(),
              std::pair(std::string("127.0.0.1"), 9190));
    EXPECT_EQ(parse_listen_address("[::1]:0").value(), std::pair(std::string("::1"), 0));
    for (const char* bad : {"9190", ":9190", "127.0.0.1:", "127.0.0.1:99999", "host:port"})
        EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
}

} // namespace
} // namespace flowwall::web
