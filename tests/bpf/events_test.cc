// SPDX-License-Identifier: Apache-2.0
// Events reach user space once per (flow, kind) per interval, with the repeats counted;
// counters count every packet and every event, lost ones included.
#include <thread>

#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

class Events : public FirewallFixture {};

TEST_F(Events, RepeatedAttemptsOfOneFlowGiveOneEvent) {
    set_mode(db.identity, FW_MODE_BLOCK);
    for (uint16_t port = 42000; port < 42050; ++port)
        EXPECT_EQ(send(PacketBuilder::tcp(intruder.v4, port, db.v4, 3306, TcpFlags::syn)),
                  Verdict::drop);
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, static_cast<uint32_t>(FW_EVENT_DROP));
    EXPECT_EQ(events[0].src_port, 42000);
    EXPECT_EQ(events[0].suppressed, 0u);
    EXPECT_EQ(counter(FW_CTR_EVENTS_SENT), 1u);
    EXPECT_EQ(counter(FW_CTR_EVENTS_SUPPRESSED), 49u);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 50u);

    // Another flow key (other port) is reported on its own.
    send(PacketBuilder::tcp(intruder.v4, 42100, db.v4, 3307, TcpFlags::syn));
    EXPECT_EQ(take_events().size(), 1u);
}

TEST_F(Events, LearnModeReportsEachNewFlowOnce) {
    set_mode(web.identity, FW_MODE_LEARN);
    for (int i = 0; i < 5; ++i) {
        auto port = static_cast<uint16_t>(43000 + i);
        EXPECT_EQ(send(PacketBuilder::tcp(web.v4, port, db.v4, 5432, TcpFlags::syn)),
                  Verdict::pass);
        EXPECT_EQ(send(PacketBuilder::udp(web.v4, port, db.v4, 53)), Verdict::pass);
    }
    auto events = take_events();
    ASSERT_EQ(events.size(), 2u) << "the first of each flow is learned, the rest are in the model";
    EXPECT_EQ(counter(FW_REASON_LEARNED), 2u);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 8u);
    EXPECT_EQ(maps().policy.count(), 2u);
    for (const auto& [key, value] : maps().policy.entries())
        EXPECT_EQ(value.flags, static_cast<uint32_t>(FW_POLICY_F_LEARNED));
}

class ShortDedupInterval : public FirewallFixture {
    std::chrono::nanoseconds dedup_interval() const override {
        return std::chrono::milliseconds(200);
    }
};

TEST_F(ShortDedupInterval, NextEventAfterTheIntervalCarriesTheSuppressedCount) {
    set_mode(db.identity, FW_MODE_ALERT);
    for (uint16_t port = 44000; port < 44010; ++port)
        send(PacketBuilder::udp(intruder.v4, port, db.v4, 161));
    ASSERT_EQ(take_events().size(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    send(PacketBuilder::udp(intruder.v4, 44011, db.v4, 161));
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, static_cast<uint32_t>(FW_EVENT_ALERT));
    EXPECT_EQ(events[0].suppressed, 9u);
}

class TinyMaps : public FirewallFixture {
    datapath::FirewallCapacities capacities() const override {
        datapath::FirewallCapacities small;
        small.policy_entries = 4;
        small.event_buffer_bytes = 4096; // one page: 4096 / (72 + 8 header) = 51 events
        return small;
    }
};

TEST_F(TinyMaps, FullRingBufferCountsLostEventsAndVerdictsStand) {
    set_mode(db.identity, FW_MODE_BLOCK);
    const int attempts = 200; // distinct flows: different ports, none de-duplicated
    for (int i = 0; i < attempts; ++i)
        EXPECT_EQ(send(PacketBuilder::tcp(intruder.v4, 45000, db.v4,
                                          static_cast<uint16_t>(1000 + i), TcpFlags::syn)),
                  Verdict::drop);
    const uint64_t sent = counter(FW_CTR_EVENTS_SENT);
    const uint64_t lost = counter(FW_CTR_EVENTS_LOST);
    EXPECT_GT(lost, 0u);
    EXPECT_EQ(sent + lost, static_cast<uint64_t>(attempts));
    EXPECT_EQ(take_events().size(), sent);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), static_cast<uint64_t>(attempts));
}

TEST_F(TinyMaps, FullPolicyMapStillPassesLearnedFlowsAndCountsThem) {
    set_mode(web.identity, FW_MODE_LEARN);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 46000, db.v4, static_cast<uint16_t>(2000 + i),
                                          TcpFlags::syn)),
                  Verdict::pass);
    EXPECT_EQ(maps().policy.count(), 4u);
    EXPECT_EQ(counter(FW_CTR_POLICY_FULL), 6u);
    EXPECT_EQ(counter(FW_REASON_LEARNED), 10u);
    // Only the flows the map holds are reported as learned: the model follows the map.
    EXPECT_EQ(take_events().size(), 4u);
    // User space sees the full map as a clear error, not a bare errno.
    auto status = maps().policy.update(flow(1, 2, 3, IPPROTO_TCP), {FW_POLICY_F_MANUAL});
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("is full (4 entries)"), std::string::npos)
        << status.error().message;
}

TEST_F(Events, CountersCountBytesPerReason) {
    auto packet = PacketBuilder::udp(web.v4, 47000, db.v4, 53).payload_size(100);
    const auto frame = packet.build();
    send(packet);
    auto counted = datapath::read_counter(maps().stats, FW_REASON_NO_WORKLOAD);
    EXPECT_EQ(counted.packets, 1u);
    EXPECT_EQ(counted.bytes, frame.size());
}

} // namespace
} // namespace flowwall::testing
