// SPDX-License-Identifier: Apache-2.0
// Issue 13's attacks on a copy of Docker's default bridge, each tried as a root process in the
// intruder's container would (its own stack with extra addresses, or whole frames from a packet
// socket), first on the bare lab (where each must work) and then against flowwalld in block
// mode guarding the veth peers in the bridge namespace; plus the legitimate traffic of the same
// workloads, which must still pass.
#include "tests/e2e/spoofing/attack_table.h"
#include "tests/e2e/spoofing/probes.h"
#include "tests/e2e/spoofing/spoofing_scene.h"
#include "tests/support/packet_socket.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

#include <thread>

namespace flowwall::testing {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kAttackTimeout{500};

TEST(SpoofingAttacks, OnTheDockerBridgeNothingGetsThroughAndLegitimateTrafficPasses) {
    FLOWWALL_REQUIRE_ROOT("creates namespaces and a bridge and runs flowwalld");
    SpoofingScene scene;
    const Workload& web = scene.web();
    const Workload& db = scene.db();
    const Workload& intruder = scene.intruder();
    BridgeLab& lab = scene.lab();
    const PacketSocket raw(intruder.netns_path, intruder.ifname);
    // The attacker's neighbours believe forged ARP at once (no 1 s lock after a real update).
    set_sysctl(db, "ipv4/neigh/eth0/locktime", "0");
    // db is a plain host, as the kernel's defaults make it: a new namespace inherits the
    // node's IPv4 forwarding (on where Docker runs), and a router ignores ICMP redirects.
    set_sysctl(db, "ipv4/conf/all/forwarding", "0");

    const auto udp_frame = [&](const Address& src, const Address& dst, const MacAddress& to) {
        return PacketBuilder::udp(src, 40000, dst, SpoofingScene::kDnsPort)
            .macs(intruder.mac, to)
            .payload_size(16)
            .build();
    };
    // One forged datagram to db's port 53 sockets: did any of them take it?
    const auto datagram_reaches_db = [&](const Address& src, const Address& dst,
                                         const MacAddress& to) {
        const size_t before = scene.db_udp_received();
        raw.send(udp_frame(src, dst, to));
        return grows([&] { return scene.db_udp_received(); }, before);
    };
    const auto impersonation = [&](const Address& web_address, const Address& db_address,
                                   const std::vector<uint8_t>& poison) {
        // db has just talked to web, so its neighbour entry for web is fresh and real.
        EXPECT_TRUE(
            tcp_connect(web.netns_path, db_address, SpoofingScene::kDbPort, kAllowTimeout).ok());
        if (web_address.family() == AF_INET)
            ip(intruder, {"-4", "addr", "add", web_address.str(), "dev", "eth0"});
        else
            ip(intruder, {"-6", "addr", "add", web_address.str(), "dev", "eth0", "nodad"});
        for (int i = 0; i < 3; ++i)
            raw.send(poison);
        return tcp_connect(intruder.netns_path, web_address, db_address, SpoofingScene::kDbPort,
                           kAttackTimeout)
            .connected;
    };
    const auto forget_impersonation = [&](const Address& web_address) {
        const bool v4 = web_address.family() == AF_INET;
        Lab::exec("", {"nsenter", "--net=" + intruder.netns_path, "ip", "addr", "del",
                       web_address.str() + (v4 ? "/32" : "/128"), "dev", "eth0"});
        ip(db, {"neigh", "flush", "all"});
    };
    const Address unowned_v4 = lab.subnet_v4(200);
    const Address unowned_v6 = lab.subnet_v6(200);
    const Address stranger_v4 = lab.subnet_v4(250);
    const Address stranger_ll = Address::v6("fe80::dead");
    const Address outside = Address::v4("198.19.255.1");

    std::vector<Attack> attacks = {
        {.name = "1a link-local TCP from intruder to db:5432",
         .attempt =
             [&] {
                 return link_local_tcp(intruder, intruder.link_local, db.link_local,
                                       SpoofingScene::kDbPort, kAttackTimeout);
             },
         .counters = {"blocked"},
         .audit_src = intruder.link_local.str(),
         .audit_dst = db.link_local.str(),
         .audit_reason = "blocked"},
        {.name = "1b link-local UDP from intruder to db:53",
         .attempt =
             [&] {
                 const size_t before = scene.db_udp_received();
                 send_udp(intruder, intruder.link_local, db.link_local, SpoofingScene::kDnsPort);
                 return grows([&] { return scene.db_udp_received(); }, before);
             },
         .counters = {"blocked"}},
        {.name = "2a TCP to the node from an IPv4 address no workload owns",
         .attempt =
             [&] {
                 ip(intruder, {"addr", "add", unowned_v4.str() + "/24", "dev", "eth0"});
                 return tcp_connect(intruder.netns_path, unowned_v4, lab.gateway_v4(),
                                    SpoofingScene::kNodePort, kAttackTimeout)
                     .connected;
             },
         // The intruder's stack may ask ARP from the forged address before the SYN.
         .counters = {"spoofed", "spoofed_l2"},
         .any_counter = true,
         .undo =
             [&] {
                 ip(intruder, {"addr", "del", unowned_v4.str() + "/24", "dev", "eth0"});
             }},
        {.name = "2b TCP to the node from an IPv6 address no workload owns",
         .attempt =
             [&] {
                 ip(intruder,
                    {"-6", "addr", "add", unowned_v6.str() + "/64", "dev", "eth0", "nodad"});
                 return tcp_connect(intruder.netns_path, unowned_v6, lab.gateway_v6(),
                                    SpoofingScene::kNodePort, kAttackTimeout)
                     .connected;
             },
         .counters = {"spoofed", "spoofed_l2"},
         .any_counter = true,
         .undo =
             [&] {
                 ip(intruder, {"-6", "addr", "del", unowned_v6.str() + "/64", "dev", "eth0"});
             }},
        {.name = "3a ARP: intruder claims web's IPv4 address, then TCP to db:5432 as web",
         .attempt =
             [&] {
                 return impersonation(
                     web.v4, db.v4,
                     arp_frame(2, intruder.mac, db.mac, intruder.mac, web.v4, db.mac, db.v4));
             },
         .counters = {"spoofed_l2", "spoofed"},
         .audit_src = web.v4.str(),
         .audit_dst = db.v4.str(),
         .audit_reason = "spoofed",
         .undo = [&] { forget_impersonation(web.v4); }},
        {.name = "3b ND: intruder claims web's IPv6 address, then TCP to db:5432 as web",
         .attempt =
             [&] {
                 return impersonation(web.v6, db.v6,
                                      neighbour_advert(intruder.mac, db.mac, intruder.link_local,
                                                       db.v6, web.v6, intruder.mac));
             },
         .counters = {"spoofed_l2", "spoofed"},
         .audit_src = web.v6.str(),
         .audit_dst = db.v6.str(),
         .audit_reason = "spoofed",
         .undo = [&] { forget_impersonation(web.v6); }},
        {.name = "4a UDP to db:53 with web's IPv4 address",
         .attempt = [&] { return datagram_reaches_db(web.v4, db.v4, db.mac); },
         .counters = {"spoofed"},
         .audit_src = web.v4.str(),
         .audit_dst = db.v4.str(),
         .audit_reason = "spoofed"},
        {.name = "4b UDP to db:53 with web's IPv6 address",
         .attempt = [&] { return datagram_reaches_db(web.v6, db.v6, db.mac); },
         .counters = {"spoofed"},
         .audit_src = web.v6.str(),
         .audit_dst = db.v6.str(),
         .audit_reason = "spoofed"},
        {.name = "4c a forged reply from db:53 into web's tracked UDP flow",
         .attempt =
             [&] {
                 UdpClient client(web, db.v4, SpoofingScene::kDnsPort);
                 client.send("query");
                 EXPECT_TRUE(client.receives("query", kAllowTimeout)) << "web's real query";
                 raw.send(PacketBuilder::udp(db.v4, SpoofingScene::kDnsPort, web.v4, client.port())
                              .macs(intruder.mac, web.mac)
                              .payload(std::vector<uint8_t>{'f', 'o', 'r', 'g', 'e', 'd'})
                              .build());
                 return client.receives("forged", milliseconds(300));
             },
         .counters = {"spoofed"},
         .audit_src = db.v4.str(),
         .audit_dst = web.v4.str(),
         .audit_reason = "spoofed"},
        {.name = "5a subnet broadcast to :53 from an address no workload owns",
         .attempt =
             [&] { return datagram_reaches_db(stranger_v4, lab.broadcast_v4(), kBroadcastMac); },
         .counters = {"spoofed"},
         .audit_src = stranger_v4.str(),
         .audit_dst = lab.broadcast_v4().str(),
         .audit_reason = "spoofed"},
        {.name = "5b 255.255.255.255 to :53 from an address no workload owns",
         .attempt =
             [&] {
                 return datagram_reaches_db(stranger_v4, Address::v4("255.255.255.255"),
                                            kBroadcastMac);
             },
         .counters = {"spoofed"}},
        {.name = "5c 224.0.0.1 to :53 from an address no workload owns",
         .attempt =
             [&] {
                 return datagram_reaches_db(stranger_v4, Address::v4("224.0.0.1"),
                                            multicast_mac(Address::v4("224.0.0.1")));
             },
         .counters = {"spoofed"}},
        {.name = "5d ff02::1 to :53 from a link-local address no workload owns",
         .attempt =
             [&] {
                 return datagram_reaches_db(stranger_ll, Address::v6("ff02::1"),
                                            multicast_mac(Address::v6("ff02::1")));
             },
         .counters = {"spoofed"}},
        {.name = "5e ff02::1 to :53 from the intruder's own link-local address",
         .attempt =
             [&] {
                 return datagram_reaches_db(intruder.link_local, Address::v6("ff02::1"),
                                            multicast_mac(Address::v6("ff02::1")));
             },
         .counters = {"blocked"},
         .audit_src = intruder.link_local.str(),
         .audit_dst = "ff02::1",
         .audit_reason = "blocked"},
        {.name = "5f subnet broadcast to :53 from the intruder's own address",
         .attempt =
             [&] { return datagram_reaches_db(intruder.v4, lab.broadcast_v4(), kBroadcastMac); },
         .counters = {"blocked"},
         .audit_src = intruder.v4.str(),
         .audit_dst = lab.broadcast_v4().str(),
         .audit_reason = "blocked"},
        {.name = "7a rogue router advertisement: the intruder as default router",
         .attempt =
             [&] {
                 raw.send(router_advert(intruder.mac, intruder.link_local,
                                        Address::v6("fd00:198:19:ff00::")));
                 return poll_output(db, {"-6", "route", "show", "proto", "ra"}, "default");
             },
         .counters = {"rogue_router"},
         .undo =
             [&] {
                 for (const Workload* w : {&scene.web(), &scene.api(), &db}) {
                     ip(*w, {"-6", "route", "flush", "proto", "ra"});
                     ip(*w, {"-6", "addr", "flush", "dev", "eth0", "dynamic"});
                 }
             }},
        {.name = "7b ICMP redirect, sent as the gateway: reach 198.19.255.1 via the intruder",
         .attempt =
             [&] {
                 // Quoting an echo reply db's kernel sent: ICMP's error handler applies a
                 // redirect for those without any socket (UDP's and ping's need one).
                 const auto quoted =
                     l3_bytes(PacketBuilder::icmp_echo(db.v4, outside, 7, /*reply=*/true), 28);
                 auto packet = PacketBuilder::icmp(lab.gateway_v4(), db.v4, 5, 1)
                                   .macs(intruder.mac, db.mac)
                                   .payload(quoted);
                 auto frame = packet.build();
                 set_icmp_word(frame, packet.l4_offset(),
                               std::span<const uint8_t, 4>(intruder.v4.bytes.data(), 4));
                 // The first makes db resolve the new gateway; a redirect to a gateway
                 // without a valid neighbour entry is ignored.
                 raw.send(frame);
                 std::this_thread::sleep_for(milliseconds(50));
                 raw.send(frame);
                 const bool redirected = poll_output(db, {"route", "get", outside.str()},
                                                     intruder.v4.str(), milliseconds(300));
                 return redirected;
             },
         .counters = {"rogue_router", "spoofed"},
         .any_counter = true,
         .undo =
             [&] {
                 ip(db, {"route", "flush", "cache"});
             }},
        {.name = "8 ICMP error from the intruder carrying arbitrary data to db",
         .attempt =
             [&] {
                 IcmpWatcher watcher(db);
                 const std::string marker = "covert-channel-bytes";
                 const auto quoted =
                     l3_bytes(PacketBuilder::udp(db.v4, 5353, intruder.v4, 7777)
                                  .payload(std::vector<uint8_t>(marker.begin(), marker.end())),
                              200);
                 raw.send(PacketBuilder::icmp(intruder.v4, db.v4, 3, 3)
                              .macs(intruder.mac, db.mac)
                              .payload(quoted)
                              .build());
                 return watcher.sees(marker, milliseconds(300));
             },
         .counters = {"icmp_unmatched"},
         .audit_src = intruder.v4.str(),
         .audit_dst = db.v4.str(),
         .audit_reason = "icmp_unmatched"},
    };

    run_attack_table(attacks, [&]() -> DaemonProcess& {
        scene.start_daemon();
        return scene.daemon();
    });

    SCOPED_TRACE("legitimate traffic of the same workloads, flowwalld in block mode");
    EXPECT_TRUE(tcp_connect(web.netns_path, db.v4, SpoofingScene::kDbPort, kAllowTimeout).ok())
        << "web -> db 5432/tcp (IPv4, with ARP for its own addresses)";
    EXPECT_TRUE(tcp_connect(web.netns_path, db.v6, SpoofingScene::kDbPort, kAllowTimeout).ok())
        << "web -> db 5432/tcp (IPv6, with neighbour discovery for its own addresses)";
    EXPECT_TRUE(
        link_local_tcp(web, web.link_local, db.link_local, SpoofingScene::kDbPort, kAllowTimeout))
        << "web -> db 5432/tcp between link-local addresses (they belong to web and db)";
    EXPECT_TRUE(
        tcp_connect(scene.api().netns_path, db.v4, SpoofingScene::kDbPort, kAllowTimeout).ok())
        << "api -> db 5432/tcp";
    EXPECT_TRUE(udp_exchange(web.netns_path, db.v4, SpoofingScene::kDnsPort, kAllowTimeout).ok())
        << "web -> db 53/udp";
    EXPECT_FALSE(tcp_connect(intruder.netns_path, db.v4, SpoofingScene::kDbPort).connected)
        << "intruder -> db 5432/tcp from its own address: not in the model";
    // Path MTU discovery: db says web's datagrams are too big (ICMP fragmentation needed,
    // next-hop MTU 1280, quoting web's real datagram); web's kernel takes the new MTU.
    EXPECT_TRUE(path_mtu_error_reaches(web, db, SpoofingScene::kDnsPort))
        << "web's route to db after the fragmentation-needed error: "
        << ip_output(web, {"route", "get", db.v4.str()});
    // An ICMP error about a real flow reaches web: with db's port 53 closed, web's datagram
    // comes back as port unreachable, which a connected UDP socket reports as refused.
    scene.stop_db_udp();
    const UdpResult refused =
        udp_exchange(web.netns_path, db.v4, SpoofingScene::kDnsPort, kAllowTimeout);
    EXPECT_NE(refused.error.find("refused"), std::string::npos)
        << "web -> db 53/udp, port closed: " << refused.error;
}

} // namespace
} // namespace flowwall::testing
