// SPDX-License-Identifier: Apache-2.0
// Issue 13, attack 6: a packet socket with PACKET_QDISC_BYPASS hands frames straight to the
// driver, past the TC egress hook of the workload's own eth0. Where the programs sat there
// (the routed namespace lab, a Swarm overlay: the veth peer is in a namespace other than the
// daemon's), from_workload never saw such a frame. Now the daemon enters the peer's namespace
// (the lab's hub, under /run/netns) and guards the peer as on Docker's bridge: the frame
// arrives at the peer's ingress whatever the workload did with its own stack. The hub plays
// the node; its service on the gateway address is "the outside" the intruder may not reach in
// block mode, with or without the bypass.
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/e2e/spoofing/attack_table.h"
#include "tests/e2e/spoofing/spoofing_scene.h"
#include "tests/support/bridge_lab.h"
#include "tests/support/netns_lab.h"
#include "tests/support/packet_socket.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;
constexpr uint16_t kOutsidePort = 9999;

TEST(SpoofingAttacks, QdiscBypassSkipsNothingWhenThePeerIsInAnotherNamespace) {
    FLOWWALL_REQUIRE_ROOT("creates namespaces and runs flowwalld");
    Lab lab;
    const Workload& web = lab.add_workload("web");
    const Workload& db = lab.add_workload("db");
    const Workload& intruder = lab.add_workload("intruder");
    UdpEchoServer outside(lab.hub_netns_path(), lab.gateway_v4(), kOutsidePort);
    UdpEchoServer db_dns(db.netns_path, db.v4, 53);
    const MacAddress intruder_mac = interface_mac(intruder.netns_path, intruder.ifname);
    const MacAddress hub_mac = interface_mac(lab.hub_netns_path(), intruder.hub_ifname);
    const auto file =
        std::filesystem::temp_directory_path() / ("fw-in-workload-" + lab.prefix() + ".json");
    write_endpoints(
        file, json::array({endpoint_entry("web-1", "web", web), endpoint_entry("db-1", "db", db),
                           endpoint_entry("intruder-1", "intruder", intruder)}));
    std::unique_ptr<DaemonProcess> daemon;

    const auto datagram_reaches_outside = [&](bool bypass) {
        const PacketSocket raw(intruder.netns_path, intruder.ifname, bypass);
        const size_t before = outside.received();
        raw.send(PacketBuilder::udp(intruder.v4, 40000, lab.gateway_v4(), kOutsidePort)
                     .macs(intruder_mac, hub_mac)
                     .payload_size(16)
                     .build());
        return grows([&] { return outside.received(); }, before);
    };
    // web's address on a datagram to db:53 (a flow the model allows web), sent past the
    // intruder's egress program: only a check that knows where it came from can refuse it.
    const auto forged_reaches_db = [&] {
        const PacketSocket raw(intruder.netns_path, intruder.ifname, /*qdisc_bypass=*/true);
        const size_t before = db_dns.received();
        raw.send(PacketBuilder::udp(web.v4, 40000, db.v4, 53)
                     .macs(intruder_mac, hub_mac)
                     .payload_size(16)
                     .build());
        return grows([&] { return db_dns.received(); }, before);
    };
    std::vector<Attack> attacks = {
        {.name = "6a UDP to the outside through the qdisc (the egress program sees it)",
         .attempt = [&] { return datagram_reaches_outside(false); },
         .counters = {"blocked"},
         .audit_src = intruder.v4.str(),
         .audit_dst = lab.gateway_v4().str(),
         .audit_reason = "blocked"},
        {.name = "6b the same with PACKET_QDISC_BYPASS (no egress hook runs)",
         .attempt = [&] { return datagram_reaches_outside(true); },
         .counters = {"blocked"},
         .audit_src = intruder.v4.str(),
         .audit_dst = lab.gateway_v4().str(),
         .audit_reason = "blocked"},
        {.name = "6c UDP to db:53 with web's address and PACKET_QDISC_BYPASS",
         .attempt = forged_reaches_db,
         .counters = {"spoofed"},
         .audit_src = web.v4.str(),
         .audit_dst = db.v4.str(),
         .audit_reason = "spoofed"},
    };
    // web, the same way, with its own address to db:53 (allowed): the bypass is no crime.
    const auto allowed_bypass_reaches_db = [&] {
        const PacketSocket raw(web.netns_path, web.ifname, /*qdisc_bypass=*/true);
        const size_t before = db_dns.received();
        raw.send(PacketBuilder::udp(web.v4, 40001, db.v4, 53)
                     .macs(interface_mac(web.netns_path, web.ifname),
                           interface_mac(lab.hub_netns_path(), web.hub_ifname))
                     .payload_size(16)
                     .build());
        return grows([&] { return db_dns.received(); }, before);
    };
    run_attack_table(attacks, [&]() -> DaemonProcess& {
        // Every drop reported (as in SpoofingScene): de-duplication is per identity flow and
        // reason, so with the default 5 s a row would find its drop folded into an earlier
        // row's of the same flow (6b into 6a) and no record of its own.
        daemon = std::make_unique<DaemonProcess>(std::vector<std::string>{
            "--docker", "false", "--endpoints-file", file.string(), "--learning-period", "0s",
            "--after-learning", "block", "--event-dedup-interval", "0s"});
        daemon->start();
        EXPECT_TRUE(daemon->cli({"model", "allow", "web", "db", "53/udp"}).ok());
        EXPECT_TRUE(eventually(
            [&] {
                return daemon->cli_json({"status"}).at("datapath").at("interfaces_guarded") == 3 &&
                       none_learning(*daemon);
            },
            std::chrono::seconds(10)))
            << daemon->cli({"endpoints"}).out;
        for (const auto& endpoint : daemon->cli_json({"endpoints"}))
            EXPECT_EQ(endpoint.at("interfaces").at(0).at("placement"), "netns-peer")
                << endpoint.dump();
        return *daemon;
    });

    SCOPED_TRACE("legitimate traffic, flowwalld in block mode");
    EXPECT_TRUE(udp_exchange(web.netns_path, db.v4, 53, kAllowTimeout).ok());
    EXPECT_TRUE(allowed_bypass_reaches_db());
    std::filesystem::remove(file);
}

} // namespace
} // namespace flowwall::testing
