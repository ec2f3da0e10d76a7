// SPDX-License-Identifier: Apache-2.0
// Only the first packet of a connection is judged. UDP and ICMP: later packets and replies
// pass through the conntrack entry. TCP: only a bare SYN is judged, every other TCP packet
// passes untracked (also those of connections older than the programs: never cut).
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

using datapath::FirewallProgram;

class Conntrack : public FirewallFixture {
protected:
    void arrange() override {
        set_mode(web.identity, FW_MODE_BLOCK);
        set_mode(db.identity, FW_MODE_BLOCK);
        allow(flow(web.identity, db.identity, 5432, IPPROTO_TCP));
        allow(flow(web.identity, db.identity, 53, IPPROTO_UDP));
        allow(flow(web.identity, db.identity, 0, IPPROTO_ICMP));
    }
};

TEST_F(Conntrack, TcpOnlyTheBareSynIsJudgedAndNothingIsTracked) {
    // web -> db. The SYN is judged at both hooks (same model, same verdict); the SYN-ACK,
    // later packets and the FIN pass without a lookup.
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 41000, db.v4, 5432, TcpFlags::syn)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 41000, db.v4, 5432, TcpFlags::syn),
                   FirewallProgram::to_workload),
              Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::tcp(db.v4, 5432, web.v4, 41000, TcpFlags::syn | TcpFlags::ack),
                   FirewallProgram::from_workload),
              Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 41000, db.v4, 5432, TcpFlags::ack)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v6, 41000, db.v6, 5432, TcpFlags::fin | TcpFlags::ack)),
              Verdict::pass);

    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 2u);
    EXPECT_EQ(counter(FW_REASON_TCP_ESTABLISHED), 3u);
    EXPECT_EQ(counter(FW_REASON_CT_ESTABLISHED) + counter(FW_REASON_CT_REPLY), 0u);
    EXPECT_EQ(conntrack_count(), 0u);
    EXPECT_TRUE(take_events().empty());
}

TEST_F(Conntrack, ReverseDirectionIsNotAllowedByTheForwardFlow) {
    // The model allows web -> db:5432; db opening a connection to web's port is new.
    EXPECT_EQ(send(PacketBuilder::tcp(db.v4, 41001, web.v4, 5432, TcpFlags::syn)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
}

TEST_F(Conntrack, UdpRepliesAndIcmpEchoRepliesPass) {
    // The model is by identity: IPv6 between the same identities is the same flow.
    EXPECT_EQ(send(PacketBuilder::udp(web.v6, 41002, db.v6, 53)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::udp(web.v4, 41002, db.v4, 53)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::udp(db.v4, 53, web.v4, 41002)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::icmp_echo(web.v4, db.v4, 9)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::icmp_echo(db.v4, web.v4, 9, /*reply=*/true)), Verdict::pass);
    // An echo reply nobody asked for (other identifier) is a new flow db -> web: blocked.
    EXPECT_EQ(send(PacketBuilder::icmp_echo(db.v4, web.v4, 10, /*reply=*/true)), Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_CT_REPLY), 2u);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 3u);

    // The entry keeps who opened the flow and why, and that the peer answered.
    auto entries = maps().conntrack4.entries();
    ASSERT_EQ(entries.size(), 2u); // UDP 41002 and the echo with identifier 9
    for (const auto& [key, entry] : entries) {
        EXPECT_EQ(entry.src_identity, web.identity);
        EXPECT_EQ(entry.dst_identity, db.identity);
        EXPECT_EQ(entry.reason, static_cast<uint32_t>(FW_REASON_POLICY_ALLOW));
        EXPECT_TRUE(entry.flags & FW_CT_F_REPLY_SEEN);
    }
}

TEST_F(Conntrack, TcpOfAConnectionOlderThanTheProgramsIsNotCut) {
    // A connection that predates the programs: its packets carry ACK, never a bare SYN.
    EXPECT_EQ(send(PacketBuilder::tcp(intruder.v4, 41003, db.v4, 22, TcpFlags::ack)),
              Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::tcp(db.v4, 22, intruder.v4, 41003, TcpFlags::ack)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_TCP_ESTABLISHED), 2u);
    EXPECT_TRUE(take_events().empty());
    // A fresh connection on the same path is judged.
    EXPECT_EQ(send(PacketBuilder::tcp(intruder.v4, 41004, db.v4, 22, TcpFlags::syn)),
              Verdict::drop);
}

TEST_F(Conntrack, ExpiredEntryIsJudgedAgain) {
    ASSERT_EQ(send(PacketBuilder::udp(web.v4, 41005, db.v4, 53)), Verdict::pass);
    auto entries = maps().conntrack4.entries();
    ASSERT_EQ(entries.size(), 1u);
    // Age the entry past the UDP timeout (60 s by default) by moving last_seen back 200 s
    // (at most 200,000 jiffies, for HZ up to 1000).
    auto aged = entries[0].second;
    aged.last_seen_jiffies -= 200'000;
    ASSERT_TRUE(maps().conntrack4.update(entries[0].first, aged).ok());
    // With the flow gone from the model, the late reply is no longer a reply.
    ASSERT_TRUE(maps().policy.erase(flow(web.identity, db.identity, 53, IPPROTO_UDP)).ok());
    EXPECT_EQ(send(PacketBuilder::udp(web.v4, 41005, db.v4, 53)), Verdict::drop);
}

} // namespace
} // namespace flowwall::testing
