// SPDX-License-Identifier: Apache-2.0
// ICMP errors pass only when the packet they quote belongs to a flow the firewall lets
// through between the same two ends (bpf/lib/icmp_error.h): conntrack for UDP and ICMP echo,
// the model (or a passing mode) for TCP. Path MTU discovery for real flows keeps working.
#include "src/datapath/netns.h"
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

const Address router_v4 = Address::v4("198.18.1.1"); // a hop on the path: world
const Address router_v6 = Address::v6("fd00:198:18::1");

// The IP packet `quoted` as an ICMP error carries it: from its IP header on, cut to
// `keep` bytes (routers quote at least the IP header and 8 bytes).
std::vector<uint8_t> quote(const PacketBuilder& quoted, size_t keep = 64) {
    auto frame = quoted.build();
    std::vector<uint8_t> ip(frame.begin() + static_cast<long>(quoted.l3_offset()), frame.end());
    if (ip.size() > keep)
        ip.resize(keep);
    return ip;
}

PacketBuilder error(const Address& from, const Address& to, uint8_t type, uint8_t code,
                    const PacketBuilder& quoted, size_t keep = 64) {
    return PacketBuilder::icmp(from, to, type, code).payload(quote(quoted, keep));
}

class IcmpErrors : public FirewallFixture {
protected:
    void arrange() override {
        set_default_mode(FW_MODE_BLOCK);
        allow(flow(web.identity, db.identity, 5432, IPPROTO_TCP));
        allow(flow(web.identity, db.identity, 53, IPPROTO_UDP));
        allow(flow(web.identity, FW_ID_WORLD, 443, IPPROTO_TCP));
    }

    void guard(const Workload& w) {
        auto cookie = datapath::netns_cookie_of("");
        ASSERT_TRUE(cookie.ok());
        datapath::InterfaceWorkload info{.identity = w.identity,
                                         .mac = std::nullopt,
                                         .addresses = {IpAddress::parse(w.v4.str()).value(),
                                                       IpAddress::parse(w.v6.str()).value()}};
        ASSERT_TRUE(maps().ifaces.put({cookie.value(), 1}, info).ok());
    }

    Verdict to_web(const PacketBuilder& p) { return send(p, FirewallProgram::to_workload); }
    Verdict from_web(const PacketBuilder& p) { return send(p, FirewallProgram::from_workload); }
};

TEST_F(IcmpErrors, PortUnreachableForATrackedUdpFlowPasses) {
    guard(web);
    auto query = PacketBuilder::udp(web.v4, 40000, db.v4, 53);
    ASSERT_EQ(from_web(query), Verdict::pass);
    EXPECT_EQ(to_web(error(db.v4, web.v4, 3, 3, query)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_ICMP_CONTROL), 1u);
}

TEST_F(IcmpErrors, QuotingAFlowThatNeverWasIsDroppedAndReported) {
    guard(web);
    auto never_sent = PacketBuilder::udp(web.v4, 40000, db.v4, 9999);
    EXPECT_EQ(to_web(error(db.v4, web.v4, 3, 3, never_sent)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 1u);
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].reason, static_cast<uint32_t>(FW_REASON_ICMP_UNMATCHED));
    EXPECT_EQ(events[0].dst_identity, web.identity);
}

TEST_F(IcmpErrors, CovertPayloadsAndCutQuotesAreDropped) {
    std::vector<uint8_t> garbage(48, 0x41);
    EXPECT_EQ(to_web(PacketBuilder::icmp(db.v4, web.v4, 3, 3).payload(garbage)), Verdict::drop);
    EXPECT_EQ(to_web(PacketBuilder::icmp(db.v6, web.v6, 1, 4).payload(garbage)), Verdict::drop);
    EXPECT_EQ(to_web(PacketBuilder::icmp(db.v4, web.v4, 11, 0)), Verdict::drop) << "no quote";
    auto query = PacketBuilder::udp(web.v4, 40000, db.v4, 53);
    ASSERT_EQ(from_web(query), Verdict::pass);
    EXPECT_EQ(to_web(PacketBuilder::icmp(db.v4, web.v4, 3, 3).payload(quote(query, 24))),
              Verdict::drop)
        << "IP header and 4 bytes: fewer than the 8 an error carries";
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 4u);
}

TEST_F(IcmpErrors, TheQuotedPacketMustBeTheReceiversOwn) {
    // A tracked flow, but of other ends: intruder -> db.
    allow(flow(intruder.identity, db.identity, 53, IPPROTO_UDP));
    auto theirs = PacketBuilder::udp(intruder.v4, 40000, db.v4, 53);
    ASSERT_EQ(send(theirs), Verdict::pass);
    EXPECT_EQ(to_web(error(db.v4, web.v4, 3, 3, theirs)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 1u);
}

TEST_F(IcmpErrors, PathMtuDiscoveryForAnAllowedTcpConnectionPasses) {
    guard(web);
    // TCP is not tracked: the model says whether the quoted flow is one that passes.
    auto segment = PacketBuilder::tcp(web.v4, 40000, db.v4, 5432, TcpFlags::ack);
    EXPECT_EQ(to_web(error(router_v4, web.v4, 3, 4, segment)), Verdict::pass) << "frag needed";
    auto segment6 = PacketBuilder::tcp(web.v6, 40000, db.v6, 5432, TcpFlags::ack);
    EXPECT_EQ(to_web(error(router_v6, web.v6, 2, 0, segment6)), Verdict::pass) << "too big";
    auto outside = PacketBuilder::tcp(web.v4, 40000, outside_v4, 443, TcpFlags::ack);
    EXPECT_EQ(to_web(error(router_v4, web.v4, 3, 4, outside)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_ICMP_CONTROL), 3u);
    auto blocked = PacketBuilder::tcp(web.v4, 40000, db.v4, 22, TcpFlags::ack);
    EXPECT_EQ(to_web(error(router_v4, web.v4, 3, 4, blocked)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 1u);
}

TEST_F(IcmpErrors, IPv6QuotesAreReadPastTheUsualExtensionHeaders) {
    guard(web);
    // ICMPv6 errors quote as much as fits in 1280 bytes: the headers and the ports are there.
    auto too_big = [](const PacketBuilder& quoted) {
        return error(router_v6, web.v6, 2, 0, quoted, 256);
    };
    auto segment = [](const Address& dst, uint16_t port) {
        return PacketBuilder::tcp(web.v6, 40000, dst, port, TcpFlags::ack);
    };
    auto with_options = segment(db.v6, 5432)
                            .ipv6_extension(IPPROTO_HOPOPTS)
                            .ipv6_extension(IPPROTO_ROUTING)
                            .ipv6_extension(IPPROTO_DSTOPTS);
    EXPECT_EQ(to_web(too_big(with_options)), Verdict::pass)
        << "too big, quoting an allowed segment with three option headers";
    auto first_fragment =
        segment(db.v6, 5432).ipv6_extension(IPPROTO_FRAGMENT, 0, /*more_fragments=*/true);
    EXPECT_EQ(to_web(too_big(first_fragment)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_ICMP_CONTROL), 2u);

    auto not_allowed = segment(db.v6, 22).ipv6_extension(IPPROTO_DSTOPTS);
    EXPECT_EQ(to_web(too_big(not_allowed)), Verdict::drop)
        << "the headers are walked, then the quoted flow is judged as any other";
    auto later_fragment = segment(db.v6, 5432).ipv6_extension(IPPROTO_FRAGMENT, 1280, false);
    EXPECT_EQ(to_web(too_big(later_fragment)), Verdict::drop)
        << "a later fragment has no ports to judge";
    auto four = segment(db.v6, 5432)
                    .ipv6_extension(IPPROTO_HOPOPTS)
                    .ipv6_extension(IPPROTO_DSTOPTS)
                    .ipv6_extension(IPPROTO_ROUTING)
                    .ipv6_extension(IPPROTO_DSTOPTS);
    EXPECT_EQ(to_web(too_big(four)), Verdict::drop) << "more headers than a real packet carries";
    auto authenticated = segment(db.v6, 5432).ipv6_extension(IPPROTO_AH);
    EXPECT_EQ(to_web(too_big(authenticated)), Verdict::drop) << "AH (IPsec) is not walked";
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 4u);
}

TEST_F(IcmpErrors, AnErrorAboutAReplyOfAnAllowedConnectionPasses) {
    // db answered web's connection to 5432; the error quotes db's reply.
    auto reply = PacketBuilder::tcp(db.v4, 5432, web.v4, 40000, TcpFlags::ack);
    EXPECT_EQ(send(error(router_v4, db.v4, 11, 0, reply), FirewallProgram::to_workload),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_ICMP_CONTROL), 1u);
}

TEST_F(IcmpErrors, AWorkloadAnswersOnlyForPacketsSentToIt) {
    // A tracked flow between two others (opened before web's interface has its entry, which
    // would make web the sender of anything sent through it).
    allow(flow(db.identity, intruder.identity, 53, IPPROTO_UDP));
    auto elsewhere = PacketBuilder::udp(db.v4, 40000, intruder.v4, 53);
    ASSERT_EQ(send(elsewhere), Verdict::pass);
    guard(web);
    // db queried web's port 53 (not in the model, so not tracked) and web says unreachable.
    auto unmodelled = PacketBuilder::udp(db.v4, 40000, web.v4, 53);
    EXPECT_EQ(from_web(error(web.v4, db.v4, 3, 3, unmodelled)), Verdict::drop);
    // web answering for a packet that went to someone else: a router's job, not web's.
    EXPECT_EQ(from_web(error(web.v4, db.v4, 3, 3, elsewhere)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_ICMP_UNMATCHED), 2u);
    // db's reply to web's query (in the model, tracked) comes back unreachable: fine.
    auto query = PacketBuilder::udp(web.v4, 40001, db.v4, 53);
    ASSERT_EQ(from_web(query), Verdict::pass);
    auto answer = PacketBuilder::udp(db.v4, 53, web.v4, 40001);
    EXPECT_EQ(from_web(error(web.v4, db.v4, 3, 3, answer)), Verdict::pass);
}

TEST_F(IcmpErrors, EchoQuotesFollowConntrack) {
    allow(flow(web.identity, db.identity, 0, IPPROTO_ICMP));
    auto ping = PacketBuilder::icmp_echo(web.v4, db.v4, 42);
    ASSERT_EQ(from_web(ping), Verdict::pass);
    EXPECT_EQ(to_web(error(router_v4, web.v4, 11, 0, ping)), Verdict::pass);
    EXPECT_EQ(to_web(error(router_v4, web.v4, 11, 0, PacketBuilder::icmp_echo(web.v4, db.v4, 43))),
              Verdict::pass)
        << "not tracked, but web -> db icmp is in the model";
    EXPECT_EQ(
        to_web(error(router_v4, web.v4, 11, 0, PacketBuilder::icmp_echo(web.v4, intruder.v4, 43))),
        Verdict::drop);
}

TEST_F(IcmpErrors, InAPermissiveModeTheQuotedFlowPassesAsItWould) {
    set_default_mode(FW_MODE_ALERT);
    auto anything = PacketBuilder::tcp(web.v4, 40000, db.v4, 8080, TcpFlags::ack);
    EXPECT_EQ(to_web(error(router_v4, web.v4, 3, 4, anything)), Verdict::pass);
    EXPECT_TRUE(take_events().empty()) << "judging the quote reports nothing";
    EXPECT_FALSE(in_model(flow(web.identity, db.identity, 8080, IPPROTO_TCP)));
}

} // namespace
} // namespace flowwall::testing
