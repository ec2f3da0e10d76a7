// SPDX-License-Identifier: Apache-2.0
// Every packet gets a defined verdict: truncated and inconsistent headers are dropped as
// malformed; what cannot start a connection (non-first fragments, neighbour discovery) and
// what is not IP passes; ICMP errors pass only for a flow that passes (icmp_error_test.cc);
// options and extension headers are walked.
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

class OddPackets : public FirewallFixture {
protected:
    void arrange() override {
        // Everything is blocked, so a packet that passes did so for its own reason.
        set_mode(web.identity, FW_MODE_BLOCK);
        set_mode(db.identity, FW_MODE_BLOCK);
    }

    // Cuts `packet` at every length from the end of the fixed IP header to one byte short
    // of the transport header's end; each cut must be dropped as malformed. Shorter cuts
    // cannot be fed in: BPF_PROG_TEST_RUN refuses an IPv4 frame under 34 bytes and an
    // IPv6 frame under 54 (Ethernet + fixed IP header) before the program runs.
    void expect_every_cut_malformed(const PacketBuilder& packet, size_t l4_header_len) {
        const size_t whole = packet.l4_offset() + l4_header_len;
        const bool ipv6 = packet.build()[12] == 0x86;
        const size_t first = packet.l3_offset() + (ipv6 ? 40 : 20);
        uint64_t before = counter(FW_REASON_MALFORMED);
        for (size_t length = first; length < whole; ++length) {
            SCOPED_TRACE("cut at " + std::to_string(length) + " of " + std::to_string(whole));
            EXPECT_EQ(run(FirewallProgram::from_workload, packet.build_truncated(length)),
                      Verdict::drop);
        }
        EXPECT_EQ(counter(FW_REASON_MALFORMED) - before, whole - first);
        EXPECT_EQ(conntrack_count(), 0u);
        EXPECT_TRUE(take_events().empty());
    }
};

TEST_F(OddPackets, TruncatedHeadersAreMalformed) {
    expect_every_cut_malformed(PacketBuilder::tcp(web.v4, 1, db.v4, 2, TcpFlags::syn), 20);
    expect_every_cut_malformed(PacketBuilder::udp(web.v4, 1, db.v4, 2), 8);
    expect_every_cut_malformed(PacketBuilder::icmp_echo(web.v4, db.v4, 3), 8);
    expect_every_cut_malformed(PacketBuilder::tcp(web.v6, 1, db.v6, 2, TcpFlags::syn), 20);
    expect_every_cut_malformed(PacketBuilder::udp(web.v6, 1, db.v6, 2)
                                   .ipv6_extension(IPPROTO_HOPOPTS)
                                   .ipv6_extension(IPPROTO_DSTOPTS),
                               8);
}

TEST_F(OddPackets, InconsistentIpHeadersAreMalformed) {
    auto frame = PacketBuilder::tcp(web.v4, 1, db.v4, 2, TcpFlags::syn).build();
    auto short_ihl = frame;
    short_ihl[14] = 0x44; // version 4, IHL 4 (16 bytes): less than the fixed header
    EXPECT_EQ(run(FirewallProgram::from_workload, short_ihl), Verdict::drop);
    auto wrong_version = frame;
    wrong_version[14] = 0x65; // claims version 6 under an IPv4 ethertype
    EXPECT_EQ(run(FirewallProgram::from_workload, wrong_version), Verdict::drop);
    auto options_past_end = frame;
    options_past_end[14] = 0x4f; // 60-byte header: the TCP header it implies is cut short
    EXPECT_EQ(run(FirewallProgram::from_workload, options_past_end), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_MALFORMED), 3u);
}

TEST_F(OddPackets, TooManyIpv6ExtensionHeadersAreMalformed) {
    auto packet = PacketBuilder::udp(web.v6, 1, db.v6, 2);
    for (int i = 0; i < 7; ++i)
        packet.ipv6_extension(IPPROTO_DSTOPTS);
    EXPECT_EQ(send(packet), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_MALFORMED), 1u);
}

TEST_F(OddPackets, OptionsAndExtensionHeadersAreWalkedToTheTransportHeader) {
    allow(flow(web.identity, db.identity, 8080, IPPROTO_TCP));
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 1, db.v4, 8080, TcpFlags::syn).ipv4_options(12)),
              Verdict::pass);
    allow(flow(web.identity, db.identity, 8080, IPPROTO_UDP));
    EXPECT_EQ(send(PacketBuilder::udp(web.v6, 1, db.v6, 8080)
                       .ipv6_extension(IPPROTO_HOPOPTS)
                       .ipv6_extension(IPPROTO_ROUTING)
                       .ipv6_extension(IPPROTO_FRAGMENT, 0, /*more_fragments=*/true)
                       .ipv6_extension(IPPROTO_DSTOPTS)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 2u);
    // Not in the model behind the same headers: blocked, so the port was really read.
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 1, db.v4, 8081, TcpFlags::syn).ipv4_options(40)),
              Verdict::drop);
}

TEST_F(OddPackets, NonFirstFragmentsPassFirstFragmentsAreJudged) {
    EXPECT_EQ(send(PacketBuilder::udp(web.v4, 1, db.v4, 9).ipv4_fragment(0, true)), Verdict::drop);
    EXPECT_EQ(
        send(PacketBuilder::ip_proto(web.v4, db.v4, IPPROTO_UDP, 64).ipv4_fragment(1480, false)),
        Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::ip_proto(web.v6, db.v6, IPPROTO_UDP, 64)
                       .ipv6_extension(IPPROTO_FRAGMENT, 1232)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_FRAGMENT), 2u);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
}

TEST_F(OddPackets, NeighbourDiscoveryPassesIcmpErrorsQuotingNothingDoNot) {
    EXPECT_EQ(send(PacketBuilder::icmp(db.v6, web.v6, 135, 0)), Verdict::pass); // NS
    EXPECT_EQ(send(PacketBuilder::icmp(db.v6, web.v6, 136, 0)), Verdict::pass); // NA
    EXPECT_EQ(send(PacketBuilder::icmp(db.v6, web.v6, 143, 0)), Verdict::pass); // MLDv2 report
    EXPECT_EQ(counter(FW_REASON_ICMP_CONTROL), 3u);
    // An error must quote a packet of a passing flow (tests/bpf/icmp_error_test.cc).
    EXPECT_EQ(send(PacketBuilder::icmp(db.v4, web.v4, 3, 3)), Verdict::drop);  // port unreachable
    EXPECT_EQ(send(PacketBuilder::icmp(db.v4, web.v4, 11, 0)), Verdict::drop); // time exceeded
    EXPECT_EQ(send(PacketBuilder::icmp(db.v6, web.v6, 1, 4)), Verdict::drop);  // unreachable
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 3u);
    // An ICMP message that is neither (timestamp request) is a new flow: blocked.
    EXPECT_EQ(send(PacketBuilder::icmp(db.v4, web.v4, 13, 0)), Verdict::drop);
}

TEST_F(OddPackets, NonIpPassesOtherIpProtocolsAreJudged) {
    EXPECT_EQ(send(PacketBuilder::arp()), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::ethertype(0x88cc, 46)), Verdict::pass); // LLDP
    EXPECT_EQ(send(PacketBuilder::ethertype(0x88cc, 46).vlan(7)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_NOT_IP), 3u);
    // SCTP is judged on protocol alone (port 0).
    EXPECT_EQ(send(PacketBuilder::ip_proto(web.v4, db.v4, IPPROTO_SCTP, 16)), Verdict::drop);
    allow(flow(web.identity, db.identity, 0, IPPROTO_SCTP));
    EXPECT_EQ(send(PacketBuilder::ip_proto(web.v4, db.v4, IPPROTO_SCTP, 16)), Verdict::pass);
}

// A tag left in the frame (QinQ, or a frame nobody untagged) does not hide what it carries:
// the receiving kernel would strip a priority tag (id 0) and deliver the packet inside.
TEST_F(OddPackets, VlanTaggedPacketsAreJudgedByWhatTheyCarry) {
    for (uint16_t id : {0, 7}) {
        SCOPED_TRACE("VLAN id " + std::to_string(id));
        EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 41000, db.v4, 22, TcpFlags::syn).vlan(id)),
                  Verdict::drop);
        EXPECT_EQ(
            send(PacketBuilder::tcp(web.v6, 41000, db.v6, 22, TcpFlags::syn).vlan(id).vlan(id)),
            Verdict::drop);
    }
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 4u);
    EXPECT_EQ(counter(FW_REASON_NOT_IP), 0u);
    auto events = take_events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events[0].src_identity, web.identity);
    EXPECT_EQ(events[0].dst_identity, db.identity);

    allow(flow(web.identity, db.identity, 22, IPPROTO_TCP));
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 41001, db.v4, 22, TcpFlags::syn).vlan(0)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 1u);

    // More tags than FW_MAX_VLAN_TAGS, or a tag cut short: malformed.
    EXPECT_EQ(
        send(PacketBuilder::tcp(web.v4, 41002, db.v4, 22, TcpFlags::syn).vlan(0).vlan(0).vlan(0)),
        Verdict::drop);
    EXPECT_EQ(run(FirewallProgram::from_workload,
                  PacketBuilder::udp(web.v4, 1, db.v4, 2).vlan(5).build_truncated(16)),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_MALFORMED), 2u);
}

} // namespace
} // namespace flowwall::testing
