// SPDX-License-Identifier: Apache-2.0
// VLAN tags cannot carry a packet around the firewall. A workload with CAP_NET_RAW (Docker
// grants it by default) writes frames of its own: the kernel moves the outer tag into skb
// metadata before TC runs, so with two priority tags (VLAN id 0) the programs see a frame
// that still starts with a tag, while the receiving kernel strips both and delivers the
// packet inside. The programs must judge what the tags carry.
//
// The destination is the hub (a `world` address, as a node's own services or the outside
// would be), so from_workload is the only hook on the way: no to_workload behind it.
#include <linux/if_packet.h>
#include <gtest/gtest.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "src/common/ip_address.h"
#include "src/common/unique_fd.h"
#include "src/datapath/counters.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/tc_attachment.h"
#include "tests/support/netns_lab.h"
#include "tests/support/packet_builder.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

namespace flowwall::testing {
namespace {

using namespace std::chrono_literals;
using datapath::FirewallProgram;
using datapath::TcAttachment;
using datapath::TcAttachMode;
using datapath::TcHook;

constexpr uint32_t kWebId = 1000;
constexpr uint16_t kDeniedPort = 17000, kModelledPort = 17001;

MacAddress mac_of(const std::string& netns_path, const std::string& ifname) {
    MacAddress mac{};
    Lab::run_in_netns(netns_path, [&] {
        UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        ifreq request{};
        std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
        if (fd.valid() && ::ioctl(fd.get(), SIOCGIFHWADDR, &request) == 0)
            std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
    });
    return mac;
}

// Writes `frame` as it is onto `workload`'s eth0, as a raw socket in the container would.
bool send_raw(const Workload& workload, const std::vector<uint8_t>& frame) {
    bool sent = false;
    Lab::run_in_netns(workload.netns_path, [&] {
        UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = workload.ifindex;
        to.sll_halen = ETH_ALEN;
        sent = fd.valid() &&
               ::sendto(fd.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                        sizeof(to)) == static_cast<ssize_t>(frame.size());
    });
    return sent;
}

// Bounded wait for the echo server to have seen `count` datagrams.
bool received(const UdpEchoServer& server, std::size_t count) {
    for (int i = 0; i < 100 && server.received() < count; ++i)
        std::this_thread::sleep_for(10ms);
    return server.received() >= count;
}

TEST(VlanTags, DoublePriorityTaggedPacketsAreJudgedByWhatTheyCarry) {
    FLOWWALL_REQUIRE_ROOT("creates network namespaces, attaches BPF programs, raw sockets");
    Lab::remove_stale();
    Lab lab;
    const Workload& web = lab.add_workload("web");
    UdpEchoServer denied(lab.hub_netns_path(), lab.gateway_v4(), kDeniedPort);
    UdpEchoServer modelled(lab.hub_netns_path(), lab.gateway_v4(), kModelledPort);

    auto loaded = datapath::FirewallObject::load({});
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    auto firewall = std::move(loaded).value();
    auto& maps = firewall->maps();
    auto web_ip = IpAddress::parse(web.v4.str()).value();
    ASSERT_TRUE(
        maps.ipcache.update(datapath::ipcache_key(web_ip), {kWebId, FW_IDENTITY_F_LOCAL}).ok());
    ASSERT_TRUE(maps.modes.update(kWebId, {FW_MODE_BLOCK}).ok());
    ASSERT_TRUE(maps.policy
                    .update(datapath::policy_key(kWebId, FW_ID_WORLD, kModelledPort, IPPROTO_UDP),
                            {FW_POLICY_F_MANUAL})
                    .ok());
    std::vector<TcAttachment> attachments;
    for (auto [hook, program] : {std::pair{TcHook::ingress, FirewallProgram::from_workload},
                                 {TcHook::egress, FirewallProgram::to_workload}}) {
        auto attached = TcAttachment::attach({lab.hub_netns_path(), web.hub_ifname}, hook,
                                             firewall->program_fd(program), TcAttachMode::tcx);
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        attachments.push_back(std::move(attached).value());
    }

    // The plain path first: the model decides.
    EXPECT_FALSE(udp_exchange(web.netns_path, lab.gateway_v4(), kDeniedPort, kDenyTimeout).ok());
    EXPECT_TRUE(udp_exchange(web.netns_path, lab.gateway_v4(), kModelledPort, kAllowTimeout).ok());
    const std::size_t denied_before = denied.received(), modelled_before = modelled.received();
    EXPECT_EQ(denied_before, 0u);

    const MacAddress web_mac = mac_of(web.netns_path, web.ifname);
    const MacAddress hub_mac = mac_of(lab.hub_netns_path(), web.hub_ifname);
    auto tagged = [&](uint16_t port) {
        return PacketBuilder::udp(web.v4, 40000, lab.gateway_v4(), port)
            .payload_size(16)
            .vlan(0)
            .vlan(0)
            .macs(web_mac, hub_mac)
            .build();
    };
    const uint64_t blocked_before = datapath::read_counter(maps.stats, FW_REASON_BLOCKED).packets;

    // The modelled port proves the kernel delivers such a frame at all; without that the
    // denied port's silence would prove nothing.
    ASSERT_TRUE(send_raw(web, tagged(kModelledPort)));
    EXPECT_TRUE(received(modelled, modelled_before + 1))
        << "a double priority-tagged frame was not delivered: the test cannot show a bypass";
    ASSERT_TRUE(send_raw(web, tagged(kDeniedPort)));
    EXPECT_FALSE(received(denied, 1)) << "a VLAN-tagged packet got around the firewall";
    EXPECT_EQ(datapath::read_counter(maps.stats, FW_REASON_BLOCKED).packets, blocked_before + 1);

    attachments.clear();
}

} // namespace
} // namespace flowwall::testing
