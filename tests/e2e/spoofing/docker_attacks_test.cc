// SPDX-License-Identifier: Apache-2.0
// Issue 13's attacks on real Docker containers (web, db, intruder on one Docker bridge network,
// flowwalld with the Docker source guarding their host-side veth peers): forged source, ARP
// impersonation, link-local, broadcast, rogue router advertisement, ICMP redirect, DHCP server
// reply and an ICMP error quoting no allowed flow; then the legitimate traffic, path MTU
// discovery on a real flow included. What the intruder does is done from inside its
// container's network namespace (/proc/<pid>/ns/net) by this root test process: a packet
// socket and addresses on its eth0, as root in the container could with CAP_NET_RAW (and
// CAP_NET_ADMIN for the addresses). db's application sockets are opened in db's namespace
// the same way.
#include "tests/e2e/spoofing/attack_table.h"
#include "tests/e2e/spoofing/probes.h"
#include "tests/e2e/spoofing/spoofing_scene.h"
#include "tests/support/bridge_lab.h"
#include "tests/support/docker_host.h"
#include "tests/support/packet_socket.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <net/if.h>

#include <thread>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr uint16_t kDbPort = 5432;
constexpr uint16_t kDnsPort = 53;
constexpr uint16_t kDhcpClientPort = 68;

Workload container_workload(const std::string& name) {
    Workload w;
    w.name = name;
    w.netns_path = "/proc/" + docker_ok({"inspect", "-f", "{{.State.Pid}}", name}) + "/ns/net";
    w.ifname = "eth0";
    Lab::run_in_netns(w.netns_path,
                      [&] { w.ifindex = static_cast<int>(::if_nametoindex("eth0")); });
    w.v4 = Address::v4(container_ip(name));
    w.mac = interface_mac(w.netns_path, w.ifname);
    w.link_local = interface_link_local(w.netns_path, w.ifname);
    // Usable once duplicate address detection is over (about a second in a container).
    eventually(
        [&] {
            return ip_output(w, {"-6", "addr", "show", "dev", "eth0", "tentative"}).empty();
        },
        std::chrono::seconds(5));
    return w;
}

TEST(SpoofingAttacks, OnRealDockerContainers) {
    FLOWWALL_REQUIRE_ROOT("runs dockerd and flowwalld");
    ensure_dockerd();
    for (const char* image :
         {"flowwall-test/web:1", "flowwall-test/db:1", "flowwall-test/intruder:1"})
        ensure_busybox_image(image);
    DockerScope scope;
    std::string subnet;
    const std::string network = scope.create_network("spoof", &subnet);
    for (const char* base : {"web", "db", "intruder"})
        scope.run(base, {"--network", network,
                         // IPv6 on, so each container has its fe80:: address (row D4).
                         "--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl",
                         "net.ipv6.conf.eth0.disable_ipv6=0",
                         std::string("flowwall-test/") + base + ":1", "sleep", "3600"});
    const Workload web = container_workload(scope.name("web"));
    const Workload db = container_workload(scope.name("db"));
    const Workload intruder = container_workload(scope.name("intruder"));
    TcpServer db_tcp(db.netns_path, Address::v4("0.0.0.0"), kDbPort);
    UdpEchoServer db_udp(db.netns_path, Address::v4("0.0.0.0"), kDnsPort);
    UdpEchoServer db_udp6(db.netns_path, Address::v6("::"), kDnsPort);
    const auto udp_received = [&] { return db_udp.received() + db_udp6.received(); };
    UdpEchoServer db_dhcp(db.netns_path, Address::v4("0.0.0.0"), kDhcpClientPort);
    const PacketSocket raw(intruder.netns_path, intruder.ifname);
    // db as a plain host takes router advertisements and redirects (the kernel's defaults;
    // IPv4 forwarding a new namespace may inherit from the node would make it ignore them).
    set_sysctl(db, "ipv6/conf/eth0/accept_ra", "2"); // 2: even if forwarding
    set_sysctl(db, "ipv4/conf/all/forwarding", "0");
    const std::string prefix = subnet.substr(0, subnet.rfind('.') + 1); // "198.18.64."
    const Address unowned = Address::v4(prefix + "200");
    const Address broadcast = Address::v4(prefix + "255");
    const Address gateway = Address::v4(prefix + "1"); // Docker's default for a network
    const Address outside = Address::v4("198.19.255.1");
    const auto datagram_reaches_db = [&](const Address& src, const Address& dst,
                                         const MacAddress& to) {
        const size_t before = udp_received();
        raw.send(PacketBuilder::udp(src, 40000, dst, kDnsPort)
                     .macs(intruder.mac, to)
                     .payload_size(16)
                     .build());
        return grows(udp_received, before);
    };

    std::vector<Attack> attacks = {
        {.name = "D1 UDP to db:53 with web's address",
         .attempt = [&] { return datagram_reaches_db(web.v4, db.v4, db.mac); },
         .counters = {"spoofed"},
         .audit_src = web.v4.str(),
         .audit_dst = db.v4.str(),
         .audit_reason = "spoofed"},
        {.name = "D2 ARP: intruder claims web's address, then TCP to db:5432 as web",
         .attempt =
             [&] {
                 EXPECT_TRUE(tcp_connect(web.netns_path, db.v4, kDbPort, kAllowTimeout).ok());
                 ip(intruder, {"-4", "addr", "add", web.v4.str(), "dev", "eth0"});
                 for (int i = 0; i < 3; ++i)
                     raw.send(
                         arp_frame(2, intruder.mac, db.mac, intruder.mac, web.v4, db.mac, db.v4));
                 // Linux takes an ARP reply only a second after the entry's last update.
                 std::this_thread::sleep_for(milliseconds(1100));
                 for (int i = 0; i < 3; ++i)
                     raw.send(
                         arp_frame(2, intruder.mac, db.mac, intruder.mac, web.v4, db.mac, db.v4));
                 return tcp_connect(intruder.netns_path, web.v4, db.v4, kDbPort, milliseconds(500))
                     .connected;
             },
         .counters = {"spoofed_l2", "spoofed"},
         .audit_src = web.v4.str(),
         .audit_dst = db.v4.str(),
         .audit_reason = "spoofed",
         .undo =
             [&] {
                 Lab::exec("", {"nsenter", "--net=" + intruder.netns_path, "ip", "addr", "del",
                                web.v4.str() + "/32", "dev", "eth0"});
                 ip(db, {"neigh", "flush", "all"});
             }},
        {.name = "D3 subnet broadcast to :53 from an address no container owns",
         .attempt = [&] { return datagram_reaches_db(unowned, broadcast, kBroadcastMac); },
         .counters = {"spoofed"},
         .audit_src = unowned.str(),
         .audit_dst = broadcast.str(),
         .audit_reason = "spoofed"},
        {.name = "D4 link-local UDP from the intruder to db:53",
         .attempt =
             [&] {
                 const size_t before = udp_received();
                 send_udp(intruder, intruder.link_local, db.link_local, kDnsPort);
                 return grows(udp_received, before);
             },
         .counters = {"blocked"},
         .audit_src = intruder.link_local.str(),
         .audit_dst = db.link_local.str(),
         .audit_reason = "blocked"},
        {.name = "D5 rogue router advertisement: the intruder as db's default router",
         .attempt =
             [&] {
                 raw.send(router_advert(intruder.mac, intruder.link_local,
                                        Address::v6("fd00:198:19:ff00::")));
                 return poll_output(db, {"-6", "route", "show", "proto", "ra"}, "default");
             },
         .counters = {"rogue_router"},
         .undo =
             [&] {
                 for (const Workload* w : {&web, &db}) {
                     ip(*w, {"-6", "route", "flush", "proto", "ra"});
                     ip(*w, {"-6", "addr", "flush", "dev", "eth0", "dynamic"});
                 }
             }},
        {.name = "D6 ICMP redirect, sent as the gateway: reach 198.19.255.1 via the intruder",
         .attempt =
             [&] {
                 // Quoting an echo reply db's kernel sent (the error handler applies a redirect
                 // for those without a socket); the first makes db resolve the new gateway.
                 const auto quoted =
                     l3_bytes(PacketBuilder::icmp_echo(db.v4, outside, 7, /*reply=*/true), 28);
                 auto packet = PacketBuilder::icmp(gateway, db.v4, 5, 1)
                                   .macs(intruder.mac, db.mac)
                                   .payload(quoted);
                 auto frame = packet.build();
                 set_icmp_word(frame, packet.l4_offset(),
                               std::span<const uint8_t, 4>(intruder.v4.bytes.data(), 4));
                 raw.send(frame);
                 std::this_thread::sleep_for(milliseconds(50));
                 raw.send(frame);
                 return poll_output(db, {"route", "get", outside.str()}, intruder.v4.str(),
                                    milliseconds(300));
             },
         .counters = {"rogue_router", "spoofed"},
         .any_counter = true,
         .undo =
             [&] {
                 ip(db, {"route", "flush", "cache"});
             }},
        {.name = "D7 DHCP server reply from the intruder to db's client port",
         .attempt =
             [&] {
                 const size_t before = db_dhcp.received();
                 raw.send(PacketBuilder::udp(intruder.v4, 67, Address::v4("255.255.255.255"),
                                             kDhcpClientPort)
                              .macs(intruder.mac, kBroadcastMac)
                              .payload_size(240)
                              .build());
                 return grows([&] { return db_dhcp.received(); }, before);
             },
         .counters = {"rogue_router"}},
        {.name = "D8 ICMP error from the intruder carrying arbitrary data to db",
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

    std::unique_ptr<DaemonProcess> daemon;
    run_attack_table(attacks, [&]() -> DaemonProcess& {
        // Every drop reported (as in SpoofingScene): de-duplication is per identity flow and
        // reason, so with the default 5 s a row would find its drop folded into an earlier
        // row's of the same flow (6b into 6a) and no record of its own.
        daemon = std::make_unique<DaemonProcess>(
            std::vector<std::string>{"--learning-period", "0s", "--after-learning", "block",
                                     "--event-dedup-interval", "0s"});
        daemon->start();
        for (const char* flow : {"5432/tcp", "53/udp"})
            EXPECT_TRUE(
                daemon->cli({"model", "allow", "flowwall-test/web", "flowwall-test/db", flow})
                    .ok());
        EXPECT_TRUE(eventually(
            [&] {
                return daemon->cli_json({"status"}).at("datapath").at("interfaces_guarded") == 3 &&
                       none_learning(*daemon);
            },
            std::chrono::seconds(15)))
            << daemon->cli({"endpoints"}).out;
        return *daemon;
    });

    SCOPED_TRACE("legitimate traffic, flowwalld in block mode");
    EXPECT_TRUE(tcp_connect(web.netns_path, db.v4, kDbPort, kAllowTimeout).ok());
    EXPECT_TRUE(udp_exchange(web.netns_path, db.v4, kDnsPort, kAllowTimeout).ok());
    EXPECT_FALSE(tcp_connect(intruder.netns_path, db.v4, kDbPort).connected);
    // Path MTU discovery on web's real flow to db:53: db's fragmentation-needed error passes.
    EXPECT_TRUE(path_mtu_error_reaches(web, db, kDnsPort))
        << "web's route to db: " << ip_output(web, {"route", "get", db.v4.str()});
}

} // namespace
} // namespace flowwall::testing
