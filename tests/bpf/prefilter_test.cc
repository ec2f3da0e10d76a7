// SPDX-License-Identifier: Apache-2.0
// uplink_prefilter drops sources in the deny prefixes and counts them; everything else,
// including what it cannot read, passes to the stack.
#include <linux/bpf.h>
#include <gtest/gtest.h>

#include "src/common/ip_address.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/prefilter_object.h"
#include "src/datapath/test_run.h"
#include "tests/support/packet_builder.h"
#include "tests/support/require_root.h"

namespace flowwall::testing {
namespace {

class Prefilter : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("loads the prefilter XDP program");
        auto loaded = datapath::PrefilterObject::load({});
        ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
        prefilter_ = std::move(loaded).value();
    }

    void deny(const char* prefix, uint32_t list) {
        auto parsed = IpPrefix::parse(prefix);
        ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
        ASSERT_TRUE(prefilter_->maps().deny.update(datapath::cidr_key(parsed.value()), list).ok());
    }

    uint32_t run(const std::vector<uint8_t>& frame) {
        auto result = datapath::test_run(prefilter_->program_fd(), frame);
        EXPECT_TRUE(result.ok()) << result.error().to_string();
        return result.ok() ? result.value().retval : 0xffffffff;
    }

    uint64_t counter(uint32_t index) {
        return datapath::read_counter(prefilter_->maps().stats, index).packets;
    }

    std::unique_ptr<datapath::PrefilterObject> prefilter_;
};

const Address inside = Address::v4("198.18.77.1");

TEST_F(Prefilter, DropsSourcesInDenyPrefixesOfBothFamilies) {
    deny("198.19.66.0/24", 1);
    deny("fd00:bad::/32", 2);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.66.200"), 1, inside, 2).build()),
              XDP_DROP);
    EXPECT_EQ(run(PacketBuilder::tcp(Address::v6("fd00:bad:1::9"), 1, Address::v6("fd00::1"), 2,
                                     TcpFlags::syn)
                      .build()),
              XDP_DROP);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.67.1"), 1, inside, 2).build()), XDP_PASS);
    // Only the source counts: a deny-listed destination passes.
    EXPECT_EQ(run(PacketBuilder::udp(inside, 1, Address::v4("198.19.66.5"), 2).build()), XDP_PASS);
    EXPECT_EQ(counter(FW_REASON_CIDR_DENY), 2u);
    EXPECT_EQ(counter(FW_REASON_PREFILTER_PASS), 2u);
}

// A trunk uplink carries tagged frames (XDP sees them before any untagging): one or two tags
// do not hide the source.
TEST_F(Prefilter, VlanTaggedFramesAreReadThrough) {
    deny("198.19.66.0/24", 1);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.66.7"), 1, inside, 2).vlan(10).build()),
              XDP_DROP);
    EXPECT_EQ(
        run(PacketBuilder::udp(Address::v4("198.19.66.8"), 1, inside, 2).vlan(10).vlan(20).build()),
        XDP_DROP);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.67.1"), 1, inside, 2).vlan(10).build()),
              XDP_PASS);
    EXPECT_EQ(counter(FW_REASON_CIDR_DENY), 2u);
}

TEST_F(Prefilter, LongestPrefixAndFamiliesDoNotMix) {
    // An IPv6 ::/0 deny must not catch IPv4 (the family byte is part of the LPM key).
    deny("::/0", 3);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.1.1"), 1, inside, 2).build()), XDP_PASS);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v6("fd00::5"), 1, Address::v6("fd00::1"), 2).build()),
              XDP_DROP);
}

TEST_F(Prefilter, UnreadableOrNonIpPasses) {
    deny("0.0.0.0/0", 4);
    EXPECT_EQ(run(PacketBuilder::arp().build()), XDP_PASS);
    auto frame = PacketBuilder::udp(Address::v4("198.19.1.1"), 1, inside, 2).build_truncated(20);
    EXPECT_EQ(run(frame), XDP_PASS);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.1.1"), 1, inside, 2).build()), XDP_DROP);
}

} // namespace
} // namespace flowwall::testing
