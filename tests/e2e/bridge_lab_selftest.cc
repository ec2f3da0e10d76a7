// SPDX-License-Identifier: Apache-2.0
// BridgeLab (tests/support/bridge_lab.h) is what the spoofing tests stand on: workloads share
// one L2 segment through br0 like containers on docker0, the bridge namespace plays the host,
// and the MACs and link-local addresses it reports are the kernel's. Also checks the
// datapath's rtnetlink address reader (src/datapath/interface_addresses.h) against it.
#include "src/datapath/interface_addresses.h"
#include "tests/support/bridge_lab.h"
#include "tests/support/packet_socket.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

namespace flowwall::testing {
namespace {

IpAddress ip_of(const Address& address) {
    return IpAddress::parse(address.str()).value();
}

TEST(BridgeLab, WorkloadsShareOneSegmentAndTheBridgeIsTheirGateway) {
    FLOWWALL_REQUIRE_ROOT("creates namespaces and a bridge");
    std::string prefix;
    {
        BridgeLab lab;
        prefix = lab.prefix();
        const Workload& a = lab.add_workload("a");
        const Workload& b = lab.add_workload("b");
        EXPECT_NE(a.mac, b.mac);
        EXPECT_EQ(a.link_local.bytes[0], 0xfe);
        EXPECT_NE(a.link_local, b.link_local);

        // Straight over L2 (both families, and link-local), and to the node's address.
        TcpServer server(b.netns_path, b.v4);
        EXPECT_TRUE(tcp_connect(a.netns_path, b.v4, server.port(), kAllowTimeout).ok());
        TcpServer server6(b.netns_path, b.v6);
        EXPECT_TRUE(tcp_connect(a.netns_path, b.v6, server6.port(), kAllowTimeout).ok());
        TcpServer node(lab.bridge_netns_path(), lab.gateway_v4());
        EXPECT_TRUE(tcp_connect(a.netns_path, lab.gateway_v4(), node.port(), kAllowTimeout).ok());
        // a's neighbour entry for b is b's own MAC: no router in between.
        ExecResult neigh = Lab::exec(a.netns, {"ip", "neigh", "show", b.v4.str()});
        char mac[18];
        std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b.mac[0], b.mac[1],
                      b.mac[2], b.mac[3], b.mac[4], b.mac[5]);
        EXPECT_NE(neigh.out.find(mac), std::string::npos) << neigh.out;

        // The peer is a port of br0 in the bridge namespace.
        ExecResult port = Lab::exec("", {"ip", "-n", lab.bridge_netns(), "-o", "link", "show",
                                         "master", BridgeLab::kBridge});
        EXPECT_NE(port.out.find(a.hub_ifname), std::string::npos) << port.out;

        // A frame from a packet socket (with and without qdisc bypass) is sent.
        for (bool bypass : {false, true}) {
            UdpEchoServer echo(b.netns_path, b.v4);
            PacketSocket raw(a.netns_path, a.ifname, bypass);
            raw.send(PacketBuilder::udp(a.v4, 40000, b.v4, echo.port())
                         .macs(a.mac, b.mac)
                         .payload_size(8)
                         .build());
            for (int waited = 0; waited < 100 && echo.received() == 0; ++waited)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            EXPECT_EQ(echo.received(), 1u) << "bypass " << bypass;
        }

        // The datapath's reader sees what the lab made.
        auto read = datapath::read_interface_addresses(a.netns_path, a.ifname);
        ASSERT_TRUE(read) << read.error().to_string();
        EXPECT_EQ(read.value().ifindex, a.ifindex);
        ASSERT_TRUE(read.value().mac.has_value());
        EXPECT_EQ(*read.value().mac, a.mac);
        const auto& addresses = read.value().addresses;
        for (const Address& expected : {a.v4, a.v6, a.link_local})
            EXPECT_NE(std::find(addresses.begin(), addresses.end(), ip_of(expected)),
                      addresses.end())
                << expected;
        EXPECT_TRUE(addresses.front().is_ipv4()) << "IPv4 first";
        EXPECT_TRUE(datapath::is_link_local(ip_of(a.link_local)));
        EXPECT_FALSE(datapath::is_link_local(ip_of(a.v6)));
        auto gone = datapath::read_interface_addresses(a.netns_path, "nosuch0");
        ASSERT_FALSE(gone);
        EXPECT_NE(gone.error().message.find("nosuch0"), std::string::npos);
    }
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + prefix + "-br")) << "cleaned up";
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + prefix + "-a"));
}

} // namespace
} // namespace flowwall::testing
