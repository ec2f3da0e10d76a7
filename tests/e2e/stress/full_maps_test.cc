// SPDX-License-Identifier: Apache-2.0
// Full maps, made small on purpose (the capacities are options): the daemon says so in its
// log, in `flowwall status`, in /healthz where it matters and in the metrics; what the maps
// already hold keeps working; nothing crashes.
#include "tests/e2e/stress/stress_lab.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace flowwall::testing {
namespace {

using namespace std::chrono_literals;

bool settled(const DaemonProcess& daemon, int interfaces, const char* mode) {
    if (daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") != interfaces)
        return false;
    for (const auto& identity : daemon.cli_json({"identities"}))
        if (identity.at("mode") != nullptr && identity.at("mode") != mode)
            return false;
    return true;
}

TEST(FullMaps, PolicyMapFullIsReportedAndWhatItHoldsStillDecides) {
    FLOWWALL_REQUIRE_ROOT("namespaces, the daemon's programs");
    StressLab lab(1);
    const Workload& client = *lab.clients()[0];
    TcpServer service(lab.server().netns_path, lab.server().v4, 8080);
    TcpServer other(lab.server().netns_path, lab.server().v4, 2222);
    constexpr int kPolicyEntries = 64;
    auto args = lab.daemon_args();
    args.insert(args.end(),
                {"--policy-entries", std::to_string(kPolicyEntries), "--learning-period", "1h"});
    DaemonProcess daemon(args);
    daemon.start();
    ASSERT_TRUE(eventually([&] { return settled(daemon, 2, "learn"); }));

    // Learned before the map fills: this one must keep passing after the switch to block.
    ASSERT_TRUE(tcp_connect(client.netns_path, lab.server().v4, 8080, kAllowTimeout).ok());
    // Four times what the map holds.
    udp_burst(client, lab.server().v4, 30000, 4 * kPolicyEntries);

    nlohmann::json capacity;
    ASSERT_TRUE(eventually([&] {
        capacity = daemon.cli_json({"status"}).at("capacity");
        return capacity.at("policy_full").at("since_start") > 0;
    })) << capacity.dump();
    EXPECT_NE(capacity.at("problems").dump().find("raise --policy-entries"), std::string::npos)
        << capacity.dump();
    EXPECT_NE(daemon.cli({"status"}).out.find("out of room"), std::string::npos);
    EXPECT_GT(metric(daemon, "flowwall_policy_map_full_total"), 0);
    EXPECT_EQ(metric(daemon, "flowwall_map_fill_ratio{map=\"fw_policy_v1\"}"), 1.0);
    EXPECT_TRUE(eventually([&] {
        return daemon.log().find("raise --policy-entries") != std::string::npos;
    })) << "no log line says what to do";
    // The model holds what the map holds, not the flows the map had no room for.
    EXPECT_TRUE(eventually([&] {
        return metric(daemon, "flowwall_model_flows") == static_cast<double>(kPolicyEntries);
    })) << "model "
        << metric(daemon, "flowwall_model_flows");

    ASSERT_TRUE(daemon.cli({"mode", "block"}).ok());
    ASSERT_TRUE(eventually([&] { return settled(daemon, 2, "block"); }));
    EXPECT_TRUE(tcp_connect(client.netns_path, lab.server().v4, 8080, kAllowTimeout).ok())
        << "a flow the full map holds stopped working";
    EXPECT_FALSE(tcp_connect(client.netns_path, lab.server().v4, 2222, kDenyTimeout).ok())
        << "a flow outside the model passed";
    EXPECT_EQ(daemon.cli({"status"}).exit_code, 0);
}

TEST(FullMaps, ConntrackFullForgetsTheOldestFlowsSaysSoAndVerdictsHold) {
    FLOWWALL_REQUIRE_ROOT("namespaces, the daemon's programs");
    StressLab lab(1);
    const Workload& client = *lab.clients()[0];
    const Address& server = lab.server().v4;
    TcpServer service(lab.server().netns_path, server, 8080);
    TcpServer other(lab.server().netns_path, server, 2222);
    UdpEchoServer echo(lab.server().netns_path, server, 5300);
    // Large enough that the LRU's per-CPU free lists (128 entries per CPU) are a few percent.
    constexpr int kConntrackEntries = 8192;
    constexpr uint16_t kFloodPort = 5353; // nobody listens: no replies, only new flows
    auto args = lab.daemon_args();
    args.insert(args.end(), {"--conntrack-entries", std::to_string(kConntrackEntries),
                             "--learning-period", "1h"});
    DaemonProcess daemon(args);
    daemon.start();
    ASSERT_TRUE(eventually([&] { return settled(daemon, 2, "learn"); }));

    ASSERT_TRUE(tcp_connect(client.netns_path, server, 8080, kAllowTimeout).ok());
    ASSERT_TRUE(udp_exchange(client.netns_path, server, 5300, kAllowTimeout).ok());
    ASSERT_EQ(udp_burst_from(client, server, kFloodPort, 20000, 1), 1);
    ASSERT_TRUE(eventually([&] { return metric(daemon, "flowwall_model_flows") == 3.0; }))
        << daemon.cli({"model", "show"}).out;
    ASSERT_TRUE(daemon.cli({"mode", "block"}).ok());
    ASSERT_TRUE(eventually([&] { return settled(daemon, 2, "block"); }));

    // Four times what conntrack holds, every one a modelled flow from a new source port.
    EXPECT_GT(udp_burst_from(client, server, kFloodPort, 21000, 4 * kConntrackEntries),
              3 * kConntrackEntries);
    EXPECT_EQ(metric(daemon, "flowwall_connections_blocked_total"), 0.0)
        << "a modelled flow was dropped while conntrack was full";

    // The fill is sampled every 10 s.
    nlohmann::json capacity;
    ASSERT_TRUE(eventually(
        [&] {
            capacity = daemon.cli_json({"status"}).at("capacity");
            return capacity.at("conntrack").at("ipv4").at("entries") >= 0.9 * kConntrackEntries;
        },
        std::chrono::seconds(15)))
        << capacity.dump();
    std::printf("conntrack after %d new flows: %s of %d IPv4 entries\n", 4 * kConntrackEntries,
                capacity.at("conntrack").at("ipv4").at("entries").dump().c_str(),
                kConntrackEntries);
    EXPECT_EQ(capacity.at("conntrack").at("ipv4").at("capacity"), kConntrackEntries);
    EXPECT_NE(capacity.at("problems").dump().find("fw_ct4_v1 is"), std::string::npos)
        << capacity.dump();
    EXPECT_NE(capacity.at("problems").dump().find("raise --conntrack-entries"), std::string::npos);
    std::string text = daemon.cli({"status"}).out;
    EXPECT_NE(text.find("out of room"), std::string::npos) << text;
    EXPECT_NE(text.find("conntrack (UDP/ICMP): "), std::string::npos) << text;
    EXPECT_GE(metric(daemon, "flowwall_map_fill_ratio{map=\"fw_ct4_v1\"}"), 0.9);
    EXPECT_TRUE(eventually([&] {
        return daemon.log().find("raise --conntrack-entries") != std::string::npos;
    })) << "no log line says what to do";

    // Verdicts are the model's, full or not: modelled flows pass, others do not.
    EXPECT_TRUE(udp_exchange(client.netns_path, server, 5300, kAllowTimeout).ok())
        << "a modelled UDP flow failed with conntrack full";
    EXPECT_TRUE(tcp_connect(client.netns_path, server, 8080, kAllowTimeout).ok());
    EXPECT_FALSE(tcp_connect(client.netns_path, server, 2222, kDenyTimeout).ok())
        << "a flow outside the model passed";
    EXPECT_EQ(daemon.cli({"status"}).exit_code, 0);
}

TEST(FullMaps, IpcacheFullIsReportedAndTheDaemonKeepsServing) {
    FLOWWALL_REQUIRE_ROOT("namespaces, the daemon's programs");
    StressLab lab(4);
    // How many entries this node needs (its own addresses count too) depends on the machine:
    // ask a daemon with room, then give another one two entries fewer.
    uint64_t needed = 0;
    {
        DaemonProcess roomy(lab.daemon_args());
        roomy.start();
        ASSERT_TRUE(eventually([&] { return settled(roomy, 5, "learn"); }));
        needed = roomy.cli_json({"status"}).at("datapath").at("ipcache").at("entries");
    }
    ASSERT_GT(needed, 5u);
    auto args = lab.daemon_args();
    args.insert(args.end(), {"--ipcache-entries", std::to_string(needed - 2)});
    DaemonProcess daemon(args);
    daemon.start();

    nlohmann::json ipcache;
    ASSERT_TRUE(eventually([&] {
        ipcache = daemon.cli_json({"status"}).at("datapath").at("ipcache");
        return !ipcache.at("error").is_null();
    })) << ipcache.dump();
    EXPECT_NE(ipcache.at("error").get<std::string>().find("is full"), std::string::npos)
        << ipcache.dump();
    EXPECT_EQ(ipcache.at("entries"), needed - 2) << "the entries that fit are kept";
    auto [health, reason] = daemon.web_get("/healthz");
    EXPECT_EQ(health, 503);
    EXPECT_NE(reason.find("ipcache"), std::string::npos) << reason;
    EXPECT_EQ(metric(daemon, "flowwall_map_fill_ratio{map=\"fw_ipcache_v1\"}"), 1.0);
    EXPECT_NE(daemon.log().find("full"), std::string::npos);
    // Still answering everything.
    EXPECT_EQ(daemon.cli({"endpoints"}).exit_code, 0);
    EXPECT_EQ(daemon.cli({"status"}).exit_code, 0);
}

} // namespace
} // namespace flowwall::testing
