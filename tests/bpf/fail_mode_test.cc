// SPDX-License-Identifier: Apache-2.0
// Fail mode (fw_settings.flags): what a new connection gets when the workload's own end has no
// ipcache entry yet. Open: that end is `world` and the modes decide. Closed: dropped as
// fail_closed, reported, unless the model allows the flow from or to `world`.
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

using datapath::FirewallProgram;

class FailMode : public FirewallFixture {
protected:
    void set_fail_closed(bool closed, fw_mode default_mode = FW_MODE_LEARN) {
        ASSERT_TRUE(maps()
                        .settings
                        .update(0, {static_cast<uint32_t>(default_mode),
                                    closed ? uint32_t{FW_SETTINGS_F_FAIL_CLOSED} : 0u})
                        .ok());
    }
};

TEST_F(FailMode, ClosedDropsAnUnidentifiedWorkloadEndEvenWhereThePeerLearns) {
    set_fail_closed(true);
    set_mode(db.identity, FW_MODE_LEARN);
    // Leaving the unidentified workload (from_workload: its end is the source) ...
    EXPECT_EQ(send(PacketBuilder::tcp(outside_v4, 41000, db.v4, 5432, TcpFlags::syn)),
              Verdict::drop);
    // ... and entering it (to_workload: its end is the destination).
    EXPECT_EQ(send(PacketBuilder::udp(db.v4, 41001, outside_v4, 53), FirewallProgram::to_workload),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_FAIL_CLOSED), 2u);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 0u);
    EXPECT_FALSE(in_model(flow(FW_ID_WORLD, db.identity, 5432, IPPROTO_TCP)))
        << "nothing is learned from an unidentified workload";

    auto events = take_events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, static_cast<uint32_t>(FW_EVENT_DROP));
    EXPECT_EQ(events[0].reason, static_cast<uint32_t>(FW_REASON_FAIL_CLOSED));
    EXPECT_EQ(events[0].src_identity, static_cast<uint32_t>(FW_ID_WORLD));
    EXPECT_EQ(events[0].dst_identity, db.identity);

    // A broadcast or multicast destination is nobody's own address: judged by the modes.
    EXPECT_EQ(send(PacketBuilder::udp(db.v4, 41002, Address::v4("239.1.2.3"), 5353),
                   FirewallProgram::to_workload),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_FAIL_CLOSED), 2u);
}

TEST_F(FailMode, ClosedStillPassesWhatTheModelAllowsFromWorld) {
    set_fail_closed(true);
    set_mode(db.identity, FW_MODE_BLOCK);
    allow(flow(FW_ID_WORLD, db.identity, 5432, IPPROTO_TCP));
    EXPECT_EQ(send(PacketBuilder::tcp(outside_v4, 41003, db.v4, 5432, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 1u);
    EXPECT_EQ(send(PacketBuilder::tcp(outside_v4, 41004, db.v4, 5433, TcpFlags::syn)),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_FAIL_CLOSED), 1u);
}

TEST_F(FailMode, OpenJudgesTheUnidentifiedEndAsWorld) {
    set_fail_closed(false);
    set_mode(db.identity, FW_MODE_LEARN);
    EXPECT_EQ(send(PacketBuilder::tcp(outside_v4, 41005, db.v4, 5432, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_LEARNED), 1u);
    EXPECT_TRUE(in_model(flow(FW_ID_WORLD, db.identity, 5432, IPPROTO_TCP)));
    set_mode(db.identity, FW_MODE_BLOCK);
    EXPECT_EQ(send(PacketBuilder::tcp(outside_v4, 41006, db.v4, 5433, TcpFlags::syn)),
              Verdict::drop);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
    EXPECT_EQ(counter(FW_REASON_FAIL_CLOSED), 0u);
}

} // namespace
} // namespace flowwall::testing
