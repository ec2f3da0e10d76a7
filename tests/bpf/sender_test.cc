// SPDX-License-Identifier: Apache-2.0
// What a workload may send once its interface has an fw_ifaces_v1 entry (bpf/lib/sender.h):
// forged IP sources, ARP and neighbour discovery lies, router and DHCP server messages, each
// next to the legitimate packet of the same kind. BPF_PROG_TEST_RUN runs the programs on the
// loopback device of the test's namespace, so that is the guarded interface here.
#include <linux/if_ether.h>
#include <sched.h>

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/datapath/netns.h"
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

using datapath::InterfaceKey;
using datapath::InterfaceWorkload;

// PacketBuilder's default source MAC: web's own.
constexpr MacAddress web_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr MacAddress other_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x66};
constexpr MacAddress peer_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const Address web_ll = Address::v6("fe80::10");
const Address db_ll = Address::v6("fe80::20");
const Address any_v4 = Address::v4("0.0.0.0");
const Address any_v6 = Address::v6("::");
const Address broadcast_v4 = Address::v4("255.255.255.255");
const Address all_nodes = Address::v6("ff02::1");
const Address all_routers = Address::v6("ff02::2");

// The key BPF_PROG_TEST_RUN's skb->dev (loopback, ifindex 1) has in this namespace.
InterfaceKey loopback_key() {
    return {datapath::netns_cookie_of("").value(), 1};
}

IpAddress ip_of(const Address& address) {
    return IpAddress::parse(address.str()).value();
}

InterfaceWorkload entry_of(const Workload& w, std::optional<MacAddress> mac, const Address& ll) {
    InterfaceWorkload info{.identity = w.identity,
                           .mac = std::nullopt,
                           .addresses = {ip_of(w.v4), ip_of(w.v6), ip_of(ll)}};
    info.mac = mac; // testing::MacAddress and datapath::MacAddress are the same array type
    return info;
}

std::vector<uint8_t> bytes_of(std::initializer_list<std::span<const uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (auto part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

std::array<uint8_t, 4> v4_bytes(const Address& a) {
    return {a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]};
}

// An Ethernet/IPv4 ARP frame from the given Ethernet source.
std::vector<uint8_t> arp(uint16_t operation, const MacAddress& sender_mac, const Address& sender_ip,
                         const Address& target_ip, const MacAddress& eth_src = web_mac,
                         uint16_t hardware_type = 1, std::vector<uint16_t> vlans = {}) {
    const uint8_t header[] = {0, static_cast<uint8_t>(hardware_type), 0x08, 0x00, 6, 4,
                              0, static_cast<uint8_t>(operation)};
    const uint8_t zero_mac[6] = {};
    auto spa = v4_bytes(sender_ip);
    auto tpa = v4_bytes(target_ip);
    auto body = bytes_of({header, sender_mac, spa, zero_mac, tpa});
    auto builder = PacketBuilder::ethertype(ETH_P_ARP, 0);
    for (uint16_t id : vlans)
        builder.vlan(id);
    return builder.payload(body).macs(eth_src, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).build();
}

// A neighbour solicitation (135) or advertisement (136) for target, with one link-layer
// address option (source for 135, target for 136) when mac is given.
PacketBuilder neighbour(uint8_t type, const Address& src, const Address& dst, const Address& target,
                        std::optional<MacAddress> mac = std::nullopt) {
    std::vector<uint8_t> body(target.bytes.begin(), target.bytes.end());
    if (mac) {
        body.push_back(type == 135 ? 1 : 2);
        body.push_back(1);
        body.insert(body.end(), mac->begin(), mac->end());
    }
    return PacketBuilder::icmp(src, dst, type, 0).payload(body);
}

std::vector<uint8_t> with_override_flag(std::vector<uint8_t> frame, size_t l4_offset) {
    frame[l4_offset + 4] |= 0x20; // checksum left stale: the programs do not verify it
    return frame;
}

class Sender : public FirewallFixture {
protected:
    void arrange() override {
        set_default_mode(FW_MODE_BLOCK);
        allow(flow(web.identity, db.identity, 5432, IPPROTO_TCP));
        allow(flow(web.identity, db.identity, 53, IPPROTO_UDP));
        allow(flow(web.identity, FW_ID_WORLD, 67, IPPROTO_UDP)); // its DHCP client
        allow(flow(web.identity, FW_ID_WORLD, 5432, IPPROTO_TCP));
        ASSERT_TRUE(maps().ifaces.put(loopback_key(), entry_of(web, web_mac, web_ll)).ok());
    }

    Verdict from_web(const std::vector<uint8_t>& frame) {
        return run(FirewallProgram::from_workload, frame);
    }
    Verdict from_web(const PacketBuilder& packet) { return from_web(packet.build()); }
};

struct Case {
    const char* name;
    std::function<std::vector<uint8_t>()> frame;
    uint32_t reason;
};

class SenderTable : public Sender, public ::testing::WithParamInterface<Case> {};

TEST_P(SenderTable, VerdictCounterAndEvent) {
    const Case& c = GetParam();
    EXPECT_EQ(from_web(c.frame()), fw_reason_is_drop(c.reason) ? Verdict::drop : Verdict::pass);
    EXPECT_EQ(counter(c.reason), 1u) << "expected " << reason_name(c.reason);
    auto events = take_events();
    if (c.reason == FW_REASON_SPOOFED) {
        ASSERT_EQ(events.size(), 1u) << "a forged source is audited";
        EXPECT_EQ(events[0].kind, static_cast<uint32_t>(FW_EVENT_DROP));
        EXPECT_EQ(events[0].reason, static_cast<uint32_t>(FW_REASON_SPOOFED));
        EXPECT_EQ(events[0].src_identity, web.identity) << "the interface's workload sent it";
        EXPECT_EQ(events[0].direction, static_cast<uint32_t>(FW_DIR_FROM_WORKLOAD));
    } else if (fw_event_kind_of(c.reason) == 0) {
        EXPECT_TRUE(events.empty()) << "L2 and router lies are counted, not reported";
    }
}

auto frame(PacketBuilder packet) {
    return [packet] { return packet.build(); };
}

const Case cases[] = {
    // Forged IP sources: every packet, SYN or not, any protocol, fragments too.
    {"tcp4_own_source", frame(PacketBuilder::tcp(web.v4, 40000, db.v4, 5432, TcpFlags::syn)),
     FW_REASON_POLICY_ALLOW},
    {"tcp4_syn_as_intruder", frame(PacketBuilder::tcp(intruder.v4, 40000, db.v4, 5432,
                                                      TcpFlags::syn)),
     FW_REASON_SPOOFED},
    {"tcp4_ack_as_db", frame(PacketBuilder::tcp(db.v4, 5432, web.v4, 40000, TcpFlags::ack)),
     FW_REASON_SPOOFED},
    {"tcp4_established_own", frame(PacketBuilder::tcp(web.v4, 40000, db.v4, 5432, TcpFlags::ack)),
     FW_REASON_TCP_ESTABLISHED},
    {"udp4_as_outside", frame(PacketBuilder::udp(outside_v4, 53, web.v4, 40000)),
     FW_REASON_SPOOFED},
    {"udp4_own_source", frame(PacketBuilder::udp(web.v4, 40000, db.v4, 53)),
     FW_REASON_POLICY_ALLOW},
    {"tcp6_own_source", frame(PacketBuilder::tcp(web.v6, 40000, db.v6, 5432, TcpFlags::syn)),
     FW_REASON_POLICY_ALLOW},
    {"tcp6_as_db", frame(PacketBuilder::tcp(db.v6, 40000, web.v6, 5432, TcpFlags::syn)),
     FW_REASON_SPOOFED},
    {"udp6_as_db", frame(PacketBuilder::udp(db.v6, 53, web.v6, 40000)), FW_REASON_SPOOFED},
    {"link_local_own_to_unmodelled",
     frame(PacketBuilder::tcp(web_ll, 40000, db_ll, 22, TcpFlags::syn)), FW_REASON_BLOCKED},
    {"link_local_own_modelled", frame(PacketBuilder::tcp(web_ll, 40000, db_ll, 5432,
                                                          TcpFlags::syn)),
     FW_REASON_POLICY_ALLOW},
    {"link_local_forged", frame(PacketBuilder::tcp(Address::v6("fe80::99"), 40000, db_ll, 5432,
                                                    TcpFlags::syn)),
     FW_REASON_SPOOFED},
    {"broadcast_forged", frame(PacketBuilder::udp(outside_v4, 40000, broadcast_v4, 53)),
     FW_REASON_SPOOFED},
    {"multicast_forged", frame(PacketBuilder::udp(db.v4, 40000, Address::v4("224.0.0.1"), 53)),
     FW_REASON_SPOOFED},
    {"multicast6_forged", frame(PacketBuilder::udp(db_ll, 40000, all_nodes, 53)),
     FW_REASON_SPOOFED},
    {"fragment_forged", frame(PacketBuilder::ip_proto(db.v4, web.v4, IPPROTO_UDP, 64)
                                  .ipv4_fragment(1480, false)),
     FW_REASON_SPOOFED},
    {"fragment_own", frame(PacketBuilder::ip_proto(web.v4, db.v4, IPPROTO_UDP, 64)
                               .ipv4_fragment(1480, false)),
     FW_REASON_FRAGMENT},
    {"other_protocol_forged", frame(PacketBuilder::ip_proto(db.v4, web.v4, 132)),
     FW_REASON_SPOOFED},
    {"dhcp_client_unspecified", frame(PacketBuilder::udp(any_v4, 68, broadcast_v4, 67)),
     FW_REASON_DHCP},
    {"dhcp_client_renewal", frame(PacketBuilder::udp(web.v4, 68, Address::v4("198.18.1.1"), 67)),
     FW_REASON_DHCP},
    {"dhcp6_client_request", frame(PacketBuilder::udp(web_ll, 546, Address::v6("ff02::1:2"), 547)),
     FW_REASON_DHCP},
    {"udp_from_client_port_elsewhere", frame(PacketBuilder::udp(web.v4, 68, db.v4, 5000)),
     FW_REASON_BLOCKED},
    {"tcp_from_unspecified", frame(PacketBuilder::tcp(any_v4, 68, db.v4, 5432, TcpFlags::syn)),
     FW_REASON_SPOOFED},
    {"udp6_from_unspecified", frame(PacketBuilder::udp(any_v6, 546, all_routers, 547)),
     FW_REASON_SPOOFED},
    // Ethernet source.
    {"ethernet_source_not_its_mac",
     frame(PacketBuilder::tcp(web.v4, 40000, db.v4, 5432, TcpFlags::syn).macs(other_mac,
                                                                              peer_mac)),
     FW_REASON_SPOOFED_L2},
    {"lldp_not_its_mac", frame(PacketBuilder::ethertype(0x88cc, 46).macs(other_mac, peer_mac)),
     FW_REASON_SPOOFED_L2},
    {"lldp_own_mac", frame(PacketBuilder::ethertype(0x88cc, 46)), FW_REASON_NOT_IP},
    // ARP.
    {"arp_request_own", [] { return arp(1, web_mac, web.v4, db.v4); }, FW_REASON_NEIGHBOUR},
    {"arp_reply_own", [] { return arp(2, web_mac, web.v4, db.v4); }, FW_REASON_NEIGHBOUR},
    {"arp_gratuitous_own", [] { return arp(1, web_mac, web.v4, web.v4); }, FW_REASON_NEIGHBOUR},
    {"arp_probe", [] { return arp(1, web_mac, any_v4, web.v4); }, FW_REASON_NEIGHBOUR},
    {"arp_reply_claims_db", [] { return arp(2, web_mac, db.v4, web.v4); }, FW_REASON_SPOOFED_L2},
    {"arp_request_claims_db", [] { return arp(1, web_mac, db.v4, intruder.v4); },
     FW_REASON_SPOOFED_L2},
    {"arp_gratuitous_claims_db", [] { return arp(1, web_mac, db.v4, db.v4); },
     FW_REASON_SPOOFED_L2},
    {"arp_sender_mac_not_its", [] { return arp(2, other_mac, web.v4, db.v4); },
     FW_REASON_SPOOFED_L2},
    {"arp_reply_from_unspecified", [] { return arp(2, web_mac, any_v4, db.v4); },
     FW_REASON_SPOOFED_L2},
    {"arp_ethernet_source_not_its", [] { return arp(1, web_mac, web.v4, db.v4, other_mac); },
     FW_REASON_SPOOFED_L2},
    {"arp_not_ethernet", [] { return arp(1, web_mac, web.v4, db.v4, web_mac, 6); },
     FW_REASON_SPOOFED_L2},
    // Tagged ARP (a VLAN subinterface in the workload): judged by the ARP inside the tags.
    {"arp_vlan_tagged_own", [] { return arp(2, web_mac, web.v4, db.v4, web_mac, 1, {10}); },
     FW_REASON_NEIGHBOUR},
    {"arp_qinq_tagged_own", [] { return arp(2, web_mac, web.v4, db.v4, web_mac, 1, {10, 20}); },
     FW_REASON_NEIGHBOUR},
    {"arp_vlan_tagged_claims_db",
     [] { return arp(2, web_mac, db.v4, web.v4, web_mac, 1, {10}); }, FW_REASON_SPOOFED_L2},
    {"arp_three_tags", [] { return arp(2, web_mac, web.v4, db.v4, web_mac, 1, {10, 20, 30}); },
     FW_REASON_MALFORMED},
    {"arp_vlan_tagged_cut_short",
     [] {
         auto f = arp(1, web_mac, web.v4, db.v4, web_mac, 1, {10});
         f.resize(f.size() - 4);
         return f;
     },
     FW_REASON_MALFORMED},
    {"arp_cut_short",
     [] {
         auto f = arp(1, web_mac, web.v4, db.v4);
         f.resize(f.size() - 4);
         return f;
     },
     FW_REASON_MALFORMED},
    // Neighbour discovery.
    {"ns_for_db", frame(neighbour(135, web_ll, all_nodes, db_ll, web_mac)), FW_REASON_NEIGHBOUR},
    {"ns_dad_own", frame(neighbour(135, any_v6, all_nodes, web.v6)), FW_REASON_NEIGHBOUR},
    {"ns_dad_for_db", frame(neighbour(135, any_v6, all_nodes, db.v6)), FW_REASON_SPOOFED_L2},
    {"ns_source_option_not_its_mac", frame(neighbour(135, web_ll, all_nodes, db_ll, other_mac)),
     FW_REASON_SPOOFED_L2},
    {"ns_forged_source", frame(neighbour(135, db_ll, all_nodes, web_ll)), FW_REASON_SPOOFED},
    {"na_own", frame(neighbour(136, web_ll, all_nodes, web_ll, web_mac)), FW_REASON_NEIGHBOUR},
    {"na_own_override",
     [] {
         auto p = neighbour(136, web.v6, all_nodes, web.v6, web_mac);
         return with_override_flag(p.build(), p.l4_offset());
     },
     FW_REASON_NEIGHBOUR},
    {"na_for_db",
     [] {
         auto p = neighbour(136, web_ll, all_nodes, db.v6, web_mac);
         return with_override_flag(p.build(), p.l4_offset());
     },
     FW_REASON_SPOOFED_L2},
    {"na_own_target_option_not_its_mac", frame(neighbour(136, web_ll, all_nodes, web_ll,
                                                         other_mac)),
     FW_REASON_SPOOFED_L2},
    {"na_cut_short", frame(PacketBuilder::icmp(web_ll, all_nodes, 136, 0)), FW_REASON_MALFORMED},
    {"router_solicitation", frame(PacketBuilder::icmp(web_ll, all_routers, 133, 0)),
     FW_REASON_NEIGHBOUR},
    {"mld_report_unspecified", frame(PacketBuilder::icmp(any_v6, Address::v6("ff02::16"), 143,
                                                         0)),
     FW_REASON_ICMP_CONTROL},
    // Router and DHCP server messages: the node's job.
    {"router_advertisement", frame(PacketBuilder::icmp(web_ll, all_nodes, 134, 0).payload_size(8)),
     FW_REASON_ROGUE_ROUTER},
    {"icmp6_redirect", frame(PacketBuilder::icmp(web_ll, db_ll, 137, 0).payload_size(32)),
     FW_REASON_ROGUE_ROUTER},
    {"icmp4_redirect", frame(PacketBuilder::icmp(web.v4, db.v4, 5, 1).payload_size(28)),
     FW_REASON_ROGUE_ROUTER},
    {"icmp4_router_advertisement", frame(PacketBuilder::icmp(web.v4, Address::v4("224.0.0.1"), 9,
                                                             0)),
     FW_REASON_ROGUE_ROUTER},
    {"dhcp_server_reply", frame(PacketBuilder::udp(web.v4, 67, broadcast_v4, 68)),
     FW_REASON_ROGUE_ROUTER},
    {"dhcp6_server_reply", frame(PacketBuilder::udp(web_ll, 547, db_ll, 546)),
     FW_REASON_ROGUE_ROUTER},
};

INSTANTIATE_TEST_SUITE_P(Workload, SenderTable, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(Sender, SpoofedIsDroppedInEveryModeAndNeverLearned) {
    for (fw_mode mode : {FW_MODE_LEARN, FW_MODE_OFF, FW_MODE_ALERT, FW_MODE_BLOCK}) {
        set_mode(web.identity, mode);
        set_mode(intruder.identity, mode);
        EXPECT_EQ(from_web(PacketBuilder::tcp(intruder.v4, 40000, db.v4, 6000, TcpFlags::syn)),
                  Verdict::drop)
            << "mode " << mode;
    }
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 4u);
    EXPECT_FALSE(in_model(flow(intruder.identity, db.identity, 6000, IPPROTO_TCP)));
    EXPECT_FALSE(in_model(flow(web.identity, db.identity, 6000, IPPROTO_TCP)));
}

// The entry names web as the source of both, so they share a flow; a forged attempt must still
// be audited as such, not folded into the earlier block of web's own attempt.
TEST_F(Sender, ASpoofedDropIsReportedAfterABlockOfTheSameFlow) {
    EXPECT_EQ(from_web(PacketBuilder::tcp(web.v4, 40000, db.v4, 6000, TcpFlags::syn)),
              Verdict::drop);
    EXPECT_EQ(from_web(PacketBuilder::tcp(intruder.v4, 40000, db.v4, 6000, TcpFlags::syn)),
              Verdict::drop);
    auto events = take_events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].reason, static_cast<uint32_t>(FW_REASON_BLOCKED));
    EXPECT_EQ(events[1].reason, static_cast<uint32_t>(FW_REASON_SPOOFED));
}

TEST_F(Sender, FailClosedDoesNotChangeIt) {
    ASSERT_TRUE(maps().settings.update(0, {FW_MODE_BLOCK, FW_SETTINGS_F_FAIL_CLOSED}).ok());
    EXPECT_EQ(from_web(PacketBuilder::udp(db.v4, 53, web.v4, 40000)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 1u);
}

TEST_F(Sender, TheEntryNotTheAddressNamesTheSource) {
    // web's link-local address is in no ipcache: before the interface map it was `world`.
    EXPECT_EQ(from_web(PacketBuilder::tcp(web_ll, 40000, db_ll, 5432, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 1u);
    set_mode(web.identity, FW_MODE_LEARN);
    EXPECT_EQ(from_web(PacketBuilder::tcp(web_ll, 40000, db_ll, 7000, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_TRUE(in_model(flow(web.identity, FW_ID_WORLD, 7000, IPPROTO_TCP)));
}

TEST_F(Sender, WithoutAKnownMacOnlyTheIpChecksRun) {
    ASSERT_TRUE(maps().ifaces.put(loopback_key(), entry_of(web, std::nullopt, web_ll)).ok());
    EXPECT_EQ(from_web(arp(2, other_mac, web.v4, db.v4, other_mac)), Verdict::pass);
    EXPECT_EQ(from_web(arp(2, other_mac, db.v4, web.v4, other_mac)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_NEIGHBOUR), 1u);
    EXPECT_EQ(counter(FW_REASON_SPOOFED_L2), 1u);
}

TEST_F(Sender, AnInterfaceWithoutEntryKeepsTheOldBehaviour) {
    ASSERT_TRUE(maps().ifaces.erase(loopback_key()).ok());
    // Judged by the address it wrote: intruder -> db is outside the model, blocked.
    EXPECT_EQ(from_web(PacketBuilder::tcp(intruder.v4, 40000, db.v4, 5432, TcpFlags::syn)),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
    EXPECT_EQ(from_web(arp(2, web_mac, db.v4, web.v4)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_NOT_IP), 1u);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 0u);
}

TEST_F(Sender, AnEntryOfAnotherNamespaceDoesNotApply) {
    auto key = loopback_key();
    ASSERT_TRUE(maps().ifaces.erase(key).ok());
    key.netns_cookie += 1;
    ASSERT_TRUE(maps().ifaces.put(key, entry_of(web, web_mac, web_ll)).ok());
    EXPECT_EQ(from_web(PacketBuilder::udp(db.v4, 53, web.v4, 40000)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 0u) << "same ifindex, other namespace: not this one";
}

// The programs key the entry with the namespace of the device the packet crosses, the number
// SO_NETNS_COOKIE gives user space for that namespace: a run on the loopback device of a
// fresh namespace (ifindex 1 there too) finds the entry made for that namespace only.
TEST_F(Sender, TheKernelAndUserSpaceAgreeOnTheDevicesNamespace) {
    ASSERT_TRUE(maps().ifaces.erase(loopback_key()).ok());
    const auto forged = PacketBuilder::udp(db.v4, 53, web.v4, 40000).build();
    std::optional<Verdict> in_fresh;
    std::string failure;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            failure = "unshare(CLONE_NEWNET) failed";
            return;
        }
        auto cookie = datapath::netns_cookie_in_entered_netns();
        if (!cookie.ok()) {
            failure = cookie.error().to_string();
            return;
        }
        auto put = maps().ifaces.put({cookie.value(), 1}, entry_of(web, web_mac, web_ll));
        if (!put.ok()) {
            failure = put.error().to_string();
            return;
        }
        auto result =
            datapath::test_run(firewall_->program_fd(FirewallProgram::from_workload), forged);
        if (result.ok())
            in_fresh = verdict_of(result.value().retval);
    }).join();
    ASSERT_TRUE(failure.empty()) << failure;
    ASSERT_TRUE(in_fresh.has_value());
    EXPECT_EQ(*in_fresh, Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 1u);
    // Here, the same ifindex in the test's own namespace has no entry: judged by address
    // (db -> web 40000/udp is outside the model: blocked, not spoofed).
    EXPECT_EQ(from_web(forged), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 1u);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
}

// fw_ifslots_v1 holds one interface per slot; another one on the same slot is found in
// fw_ifaces_v1, and moves into the slot when the slot frees up.
TEST_F(Sender, AnEntryThatSharesItsSlotIsFoundInTheHashThenMovesIn) {
    auto own = loopback_key();
    auto same_slot = own;
    same_slot.netns_cookie += 1;
    ASSERT_TRUE(maps().ifaces.erase(own).ok());
    ASSERT_TRUE(maps().ifaces.put(same_slot, entry_of(db, peer_mac, db_ll)).ok());
    ASSERT_TRUE(maps().ifaces.put(own, entry_of(web, web_mac, web_ll)).ok());
    EXPECT_EQ(from_web(PacketBuilder::udp(db.v4, 53, web.v4, 40000)), Verdict::drop);
    EXPECT_EQ(from_web(PacketBuilder::udp(web.v4, 40000, db.v4, 53)), Verdict::pass);
    ASSERT_TRUE(maps().ifaces.erase(same_slot).ok());
    EXPECT_EQ(from_web(PacketBuilder::udp(db.v4, 54, web.v4, 40000)), Verdict::drop);
    EXPECT_EQ(from_web(PacketBuilder::tcp(web.v4, 40000, db.v4, 5432, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 2u);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 2u);
    // A changed entry replaces the one in the slot: web gives up its IPv4 address.
    auto changed = entry_of(web, web_mac, web_ll);
    changed.addresses.erase(changed.addresses.begin());
    ASSERT_TRUE(maps().ifaces.put(own, changed).ok());
    EXPECT_EQ(from_web(PacketBuilder::tcp(web.v4, 40001, db.v4, 5432, TcpFlags::syn)),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_SPOOFED), 3u);
}

// Arriving packets: the receiving workload is the destination, whatever the address.
class Receiver : public FirewallFixture {
protected:
    void arrange() override {
        set_default_mode(FW_MODE_BLOCK);
        allow(flow(web.identity, db.identity, 53, IPPROTO_UDP));
        ASSERT_TRUE(maps().ifaces.put(loopback_key(), entry_of(db, peer_mac, db_ll)).ok());
    }
    Verdict to_db(const PacketBuilder& packet) {
        return send(packet, FirewallProgram::to_workload);
    }
};

TEST_F(Receiver, BroadcastMulticastAndLinkLocalAreJudgedAsToTheWorkload) {
    EXPECT_EQ(to_db(PacketBuilder::udp(web.v4, 40000, broadcast_v4, 53)), Verdict::pass);
    EXPECT_EQ(to_db(PacketBuilder::udp(web.v4, 40001, Address::v4("198.18.1.255"), 53)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 2u) << "web -> db 53/udp, in the model";
    // Before the interface map, world -> broadcast had no mode at either end: no_workload.
    EXPECT_EQ(to_db(PacketBuilder::udp(outside_v4, 40000, broadcast_v4, 53)), Verdict::drop);
    EXPECT_EQ(to_db(PacketBuilder::udp(outside_v4, 40000, Address::v4("224.0.0.1"), 53)),
              Verdict::drop);
    EXPECT_EQ(to_db(PacketBuilder::udp(Address::v6("fe80::30"), 40000, all_nodes, 53)),
              Verdict::drop);
    EXPECT_EQ(to_db(PacketBuilder::tcp(Address::v6("fe80::30"), 40000, db_ll, 5432, TcpFlags::syn)),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 4u);
    EXPECT_EQ(counter(FW_REASON_NO_WORKLOAD), 0u);
    auto events = take_events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().dst_identity, db.identity);
}

TEST_F(Receiver, DhcpRepliesFromTheNodeReachTheClientOtherUdpFromPort67DoesNot) {
    // Block mode and nothing in the model: only the DHCP exchange passes.
    EXPECT_EQ(to_db(PacketBuilder::udp(Address::v4("198.18.1.1"), 67, broadcast_v4, 68)),
              Verdict::pass);
    EXPECT_EQ(to_db(PacketBuilder::udp(Address::v4("198.18.1.1"), 67, db.v4, 68)), Verdict::pass);
    EXPECT_EQ(to_db(PacketBuilder::udp(Address::v6("fe80::1"), 547, db_ll, 546)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_DHCP), 3u);
    EXPECT_EQ(to_db(PacketBuilder::udp(Address::v4("198.18.1.1"), 67, db.v4, 5432)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
}

TEST_F(Receiver, ArrivingNeighbourDiscoveryIsNotTheWorkloadsLie) {
    EXPECT_EQ(to_db(neighbour(136, web_ll, all_nodes, web_ll, web_mac)), Verdict::pass);
    EXPECT_EQ(run(FirewallProgram::to_workload, arp(2, web_mac, web.v4, db.v4)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_SPOOFED_L2), 0u);
}

} // namespace
} // namespace flowwall::testing
