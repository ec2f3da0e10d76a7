// SPDX-License-Identifier: Apache-2.0
// The verdict on a new connection for every combination of the two ends' modes, in and
// out of the model, run through BPF_PROG_TEST_RUN against the loaded programs. Each row
// checks the verdict and its side effects: counter, event, conntrack entry, model entry.
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

constexpr fw_mode L = FW_MODE_LEARN, A = FW_MODE_ALERT, B = FW_MODE_BLOCK, O = FW_MODE_OFF,
                  U = FW_MODE_UNSET;

struct Row {
    fw_mode src_mode; // U: no fw_modes_v1 entry
    fw_mode dst_mode;
    bool in_model;
    uint32_t reason;
};

// Written out by hand from DESIGN.md's rule, not computed: a learning end wins, otherwise
// the strictest of block > alert > off; a flow in the model is always allowed.
const Row rows[] = {
    {L, L, false, FW_REASON_LEARNED},     {L, A, false, FW_REASON_LEARNED},
    {L, B, false, FW_REASON_LEARNED},     {L, O, false, FW_REASON_LEARNED},
    {A, L, false, FW_REASON_LEARNED},     {A, A, false, FW_REASON_ALERT},
    {A, B, false, FW_REASON_BLOCKED},     {A, O, false, FW_REASON_ALERT},
    {B, L, false, FW_REASON_LEARNED},     {B, A, false, FW_REASON_BLOCKED},
    {B, B, false, FW_REASON_BLOCKED},     {B, O, false, FW_REASON_BLOCKED},
    {O, L, false, FW_REASON_LEARNED},     {O, A, false, FW_REASON_ALERT},
    {O, B, false, FW_REASON_BLOCKED},     {O, O, false, FW_REASON_MODE_OFF},
    {B, B, true, FW_REASON_POLICY_ALLOW}, {A, A, true, FW_REASON_POLICY_ALLOW},
    {L, B, true, FW_REASON_POLICY_ALLOW}, {O, O, true, FW_REASON_POLICY_ALLOW},
};

struct Shape {
    const char* name;
    bool ipv6;
    uint8_t protocol;
    FirewallProgram program;
};

const Shape shapes[] = {
    {"tcp4_from", false, IPPROTO_TCP, FirewallProgram::from_workload},
    {"udp4_to", false, IPPROTO_UDP, FirewallProgram::to_workload},
    {"tcp6_to", true, IPPROTO_TCP, FirewallProgram::to_workload},
    {"udp6_from", true, IPPROTO_UDP, FirewallProgram::from_workload},
    {"icmp4_from", false, IPPROTO_ICMP, FirewallProgram::from_workload},
    {"icmp6_to", true, IPPROTO_ICMPV6, FirewallProgram::to_workload},
};

PacketBuilder first_packet(const Shape& shape, const Workload& src, const Workload& dst) {
    const Address& s = shape.ipv6 ? src.v6 : src.v4;
    const Address& d = shape.ipv6 ? dst.v6 : dst.v4;
    switch (shape.protocol) {
    case IPPROTO_TCP:
        return PacketBuilder::tcp(s, 40000, d, 5432, TcpFlags::syn);
    case IPPROTO_UDP:
        return PacketBuilder::udp(s, 40000, d, 53);
    default:
        return PacketBuilder::icmp_echo(s, d, 77);
    }
}

uint16_t policy_port(const Shape& shape) {
    switch (shape.protocol) {
    case IPPROTO_TCP:
        return 5432;
    case IPPROTO_UDP:
        return 53;
    default:
        return 0;
    }
}

class VerdictTable : public FirewallFixture,
                     public ::testing::WithParamInterface<std::tuple<Row, Shape>> {};

TEST_P(VerdictTable, NewConnection) {
    const auto& [row, shape] = GetParam();
    if (row.src_mode != U)
        set_mode(web.identity, row.src_mode);
    if (row.dst_mode != U)
        set_mode(db.identity, row.dst_mode);
    const auto key = flow(web.identity, db.identity, policy_port(shape), shape.protocol);
    if (row.in_model)
        allow(key);

    const bool drops = row.reason == FW_REASON_BLOCKED;
    EXPECT_EQ(send(first_packet(shape, web, db), shape.program),
              drops ? Verdict::drop : Verdict::pass);
    EXPECT_EQ(counter(row.reason), 1u) << "expected reason " << datapath::counter_name(row.reason);

    auto events = take_events();
    if (uint32_t kind = fw_event_kind_of(row.reason)) {
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].kind, kind);
        EXPECT_EQ(events[0].reason, row.reason);
        EXPECT_EQ(events[0].src_identity, web.identity);
        EXPECT_EQ(events[0].dst_identity, db.identity);
        EXPECT_EQ(events[0].dst_port, policy_port(shape));
        EXPECT_EQ(events[0].protocol, shape.protocol);
        EXPECT_EQ(events[0].family, shape.ipv6 ? FW_FAMILY_IPV6 : FW_FAMILY_IPV4);
        EXPECT_EQ(events[0].direction, shape.program == FirewallProgram::from_workload
                                           ? FW_DIR_FROM_WORKLOAD
                                           : FW_DIR_TO_WORKLOAD);
        const Address& src = shape.ipv6 ? web.v6 : web.v4;
        EXPECT_EQ(Address::from_bytes(src.family(), std::span(events[0].src_addr.bytes,
                                                              src.family() == AF_INET ? 4 : 16)),
                  src);
    } else {
        EXPECT_TRUE(events.empty());
    }

    // Only UDP and ICMP are tracked (bpf/lib/conntrack.h).
    EXPECT_EQ(conntrack_count(), drops || shape.protocol == IPPROTO_TCP ? 0u : 1u);
    EXPECT_EQ(in_model(key), row.in_model || row.reason == FW_REASON_LEARNED);
}

std::string row_name(const ::testing::TestParamInfo<std::tuple<Row, Shape>>& info) {
    static const char* mode_names[] = {"unset", "learn", "off", "alert", "block"};
    const auto& [row, shape] = info.param;
    return std::string(mode_names[row.src_mode]) + "_" + mode_names[row.dst_mode] +
           (row.in_model ? "_modelled_" : "_") + shape.name;
}

INSTANTIATE_TEST_SUITE_P(AllModes, VerdictTable,
                         ::testing::Combine(::testing::ValuesIn(rows), ::testing::ValuesIn(shapes)),
                         row_name);

// Ends without a mode entry: allocated identities take the global default, reserved ones
// (world, host) and CIDR entities take no part.
class DefaultModes : public FirewallFixture {};

TEST_F(DefaultModes, AllocatedIdentityWithoutEntryTakesGlobalDefault) {
    set_default_mode(FW_MODE_BLOCK);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40001, db.v4, 80, TcpFlags::syn)), Verdict::drop);
    set_default_mode(FW_MODE_ALERT);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40002, db.v4, 80, TcpFlags::syn)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_BLOCKED), 1u);
    EXPECT_EQ(counter(FW_REASON_ALERT), 1u);
}

TEST_F(DefaultModes, UnsetDefaultAndNoEntriesMeansNoWorkloadTakesPart) {
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40003, db.v4, 80, TcpFlags::syn)), Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_NO_WORKLOAD), 1u);
    EXPECT_TRUE(take_events().empty());
}

TEST_F(DefaultModes, WorldTakesNoPartAndTheWorkloadModeDecides) {
    set_default_mode(FW_MODE_LEARN); // world must not "learn" through the default
    set_mode(db.identity, FW_MODE_BLOCK);
    EXPECT_EQ(send(PacketBuilder::tcp(outside_v4, 40004, db.v4, 22, TcpFlags::syn),
                   FirewallProgram::to_workload),
              Verdict::drop);
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].src_identity, static_cast<uint32_t>(FW_ID_WORLD));
}

TEST_F(DefaultModes, CidrEntityIsTheIdentityOfItsMembers) {
    set_mode(web.identity, FW_MODE_BLOCK);
    allow(flow(web.identity, cidr_identity, 443, IPPROTO_TCP));
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40005, cidr_member_v4, 443, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_POLICY_ALLOW), 1u);
    // Outside the prefix: world, not in the model.
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40006, outside_v4, 443, TcpFlags::syn)),
              Verdict::drop);
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].dst_identity, static_cast<uint32_t>(FW_ID_WORLD));
}

TEST_F(DefaultModes, ExactEntryWinsOverCidrEntity) {
    place(Address::v4("198.19.200.8"), intruder.identity);
    set_mode(intruder.identity, FW_MODE_BLOCK);
    EXPECT_EQ(send(PacketBuilder::udp(Address::v4("198.19.200.8"), 5000, web.v4, 53)),
              Verdict::drop);
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].src_identity, intruder.identity);
}

} // namespace
} // namespace flowwall::testing
