// SPDX-License-Identifier: Apache-2.0
// uplink_prefilter drops sources an inbound deny list names (the allow set wins) and counts
// them per list; everything else, including what it cannot read, passes to the stack. The
// lists are written through DenySets, the wrapper the daemon uses: replace() and apply() are
// tested here against the program's verdicts, including a randomized cross-check against a
// plain longest-prefix search in user space.
#include <linux/bpf.h>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <random>
#include <set>

#include "src/common/ip_address.h"
#include "src/datapath/deny_sets.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/prefilter_object.h"
#include "src/datapath/test_run.h"
#include "tests/support/packet_builder.h"
#include "tests/support/require_root.h"

namespace flowwall::testing {
namespace {

using datapath::DenyEntry;
using datapath::DenyLists;
using datapath::DenySnapshot;

IpPrefix prefix(const char* text) {
    auto parsed = IpPrefix::parse(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.value();
}

constexpr DenyLists inbound(uint16_t list) {
    return {list, 0};
}

class Prefilter : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("loads the prefilter XDP program");
        auto loaded = datapath::PrefilterObject::load({});
        ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
        prefilter_ = std::move(loaded).value();
        deny_ = std::make_unique<datapath::DenySets>(
            std::vector<datapath::DenyMaps>{prefilter_->maps().deny});
    }

    void replace(std::vector<DenyEntry> entries) {
        auto status = deny_->replace(DenySnapshot{std::move(entries)});
        ASSERT_TRUE(status.ok()) << status.error().to_string();
    }

    uint32_t run(const std::vector<uint8_t>& frame) {
        auto result = datapath::test_run(prefilter_->program_fd(), frame);
        EXPECT_TRUE(result.ok()) << result.error().to_string();
        return result.ok() ? result.value().retval : 0xffffffff;
    }

    uint32_t from(const Address& source) {
        const bool v4 = source.family() == AF_INET;
        return run(PacketBuilder::udp(source, 1, v4 ? inside : inside6, 2).build());
    }

    uint64_t counter(uint32_t index) {
        return datapath::read_counter(prefilter_->maps().stats, index).packets;
    }

    uint64_t dropped_by(uint16_t list) {
        auto counters = deny_->counters();
        return counters.count(list) ? counters[list].packets : 0;
    }

    const Address inside = Address::v4("198.18.77.1");
    const Address inside6 = Address::v6("fd00::1");
    std::unique_ptr<datapath::PrefilterObject> prefilter_;
    std::unique_ptr<datapath::DenySets> deny_;
};

TEST_F(Prefilter, DropsListedSourcesOfBothFamiliesAndCountsThemPerList) {
    replace({{prefix("198.19.66.0/24"), inbound(1)},
             {prefix("198.19.70.9/32"), inbound(1)},
             {prefix("fd00:bad::/32"), inbound(2)},
             {prefix("fd00:beef::7/128"), inbound(2)}});
    EXPECT_EQ(from(Address::v4("198.19.66.200")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("198.19.70.9")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("fd00:bad:1::9")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("fd00:beef::7")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("198.19.67.1")), XDP_PASS);
    EXPECT_EQ(from(Address::v4("198.19.70.10")), XDP_PASS); // same /24 as a listed /32
    EXPECT_EQ(from(Address::v6("fd00:beef::8")), XDP_PASS);
    EXPECT_EQ(from(Address::v6("fd00:bae::1")), XDP_PASS);
    // Only the source counts: a listed destination passes.
    EXPECT_EQ(run(PacketBuilder::udp(inside, 1, Address::v4("198.19.66.5"), 2).build()), XDP_PASS);
    EXPECT_EQ(counter(FW_REASON_CIDR_DENY), 4u);
    EXPECT_EQ(counter(FW_REASON_PREFILTER_PASS), 5u);
    EXPECT_EQ(dropped_by(1), 2u);
    EXPECT_EQ(dropped_by(2), 2u);
    EXPECT_EQ(deny_->counters().size(), 2u);
}

// A trunk uplink carries tagged frames (XDP sees them before any untagging): one or two tags
// do not hide the source.
TEST_F(Prefilter, VlanTaggedFramesAreReadThrough) {
    replace({{prefix("198.19.66.0/24"), inbound(1)}, {prefix("fd00:bad::/32"), inbound(1)}});
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.66.7"), 1, inside, 2).vlan(10).build()),
              XDP_DROP);
    EXPECT_EQ(
        run(PacketBuilder::udp(Address::v4("198.19.66.8"), 1, inside, 2).vlan(10).vlan(20).build()),
        XDP_DROP);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v6("fd00:bad::1"), 1, inside6, 2).vlan(30).build()),
              XDP_DROP);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.67.1"), 1, inside, 2).vlan(10).build()),
              XDP_PASS);
    EXPECT_EQ(dropped_by(1), 3u);
}

TEST_F(Prefilter, FamiliesDoNotMixAndShortPrefixesCoverEverything) {
    // An IPv6 ::/0 deny must not catch IPv4 (the family byte is part of the key).
    replace({{prefix("::/0"), inbound(3)}});
    EXPECT_EQ(from(Address::v4("198.19.1.1")), XDP_PASS);
    EXPECT_EQ(from(Address::v6("fd00::5")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("2001:db8::5")), XDP_DROP);
    replace({{prefix("0.0.0.0/0"), inbound(3)}});
    EXPECT_EQ(from(Address::v4("198.19.1.1")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("1.2.3.4")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("fd00::5")), XDP_PASS);
    // Between: /8 (expanded over 65,536 /24s) and IPv6 /12 and /20 (over their /32s, or all).
    replace({{prefix("203.0.0.0/8"), inbound(4)},
             {prefix("2a00::/12"), inbound(4)},
             {prefix("2400:f000::/20"), inbound(4)}});
    EXPECT_EQ(from(Address::v4("203.255.1.1")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("204.0.0.1")), XDP_PASS);
    EXPECT_EQ(from(Address::v6("2a0f:ffff::1")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("2a10::1")), XDP_PASS);
    EXPECT_EQ(from(Address::v6("2400:ffff:1::1")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("2400:e000::1")), XDP_PASS);
}

TEST_F(Prefilter, UnreadableOrNonIpPasses) {
    replace({{prefix("0.0.0.0/0"), inbound(4)}});
    EXPECT_EQ(run(PacketBuilder::arp().build()), XDP_PASS);
    auto frame = PacketBuilder::udp(Address::v4("198.19.1.1"), 1, inside, 2).build_truncated(20);
    EXPECT_EQ(run(frame), XDP_PASS);
    auto tagged =
        PacketBuilder::udp(Address::v4("198.19.1.1"), 1, inside, 2).vlan(7).build_truncated(30);
    EXPECT_EQ(run(tagged), XDP_PASS);
    EXPECT_EQ(run(PacketBuilder::udp(Address::v4("198.19.1.1"), 1, inside, 2).build()), XDP_DROP);
    EXPECT_EQ(dropped_by(4), 1u);
}

TEST_F(Prefilter, AllowSetWinsOverEveryList) {
    replace({{prefix("198.18.0.0/15"), inbound(1)},
             {prefix("198.19.5.0/24"), inbound(2)},
             {prefix("198.19.5.5/32"), inbound(3)},
             {prefix("fd00::/16"), inbound(1)}});
    ASSERT_TRUE(deny_->set_allow({prefix("198.19.0.0/16"), prefix("fd00:1::/32")}).ok());
    EXPECT_EQ(from(Address::v4("198.19.5.5")), XDP_PASS);
    EXPECT_EQ(from(Address::v4("198.19.5.6")), XDP_PASS);
    EXPECT_EQ(from(Address::v4("198.18.5.5")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("fd00:1::1")), XDP_PASS);
    EXPECT_EQ(from(Address::v6("fd00:2::1")), XDP_DROP);
    // The allow set is replaced: the old one goes, the new one holds.
    ASSERT_TRUE(deny_->set_allow({prefix("198.18.5.0/24")}).ok());
    EXPECT_EQ(from(Address::v4("198.19.5.5")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("198.18.5.5")), XDP_PASS);
    EXPECT_EQ(deny_->allow().size(), 1u);
}

TEST_F(Prefilter, OnlyInboundListsActHereAndTheLongestInboundPrefixNamesTheList) {
    // 198.19.5.0/24 is outbound only: its sources fall back to the inbound /16 (list 1).
    replace({{prefix("198.19.0.0/16"), inbound(1)},
             {prefix("198.19.5.0/24"), DenyLists{0, 2}},
             {prefix("198.19.6.0/24"), DenyLists{3, 2}},
             {prefix("198.20.0.0/16"), DenyLists{0, 2}}});
    EXPECT_EQ(from(Address::v4("198.19.5.1")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("198.19.6.1")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("198.20.0.1")), XDP_PASS);
    EXPECT_EQ(dropped_by(1), 1u);
    EXPECT_EQ(dropped_by(3), 1u);
    EXPECT_EQ(dropped_by(2), 0u);
}

TEST_F(Prefilter, ReplaceSwapsGenerationsWholly) {
    for (int round = 0; round < 5; ++round) {
        const bool even = round % 2 == 0;
        replace({{prefix(even ? "198.19.1.0/24" : "198.19.2.0/24"), inbound(1)}});
        EXPECT_EQ(from(Address::v4("198.19.1.1")), even ? XDP_DROP : XDP_PASS) << round;
        EXPECT_EQ(from(Address::v4("198.19.2.1")), even ? XDP_PASS : XDP_DROP) << round;
        EXPECT_EQ(deny_->size(), 1u);
    }
    replace({});
    EXPECT_EQ(from(Address::v4("198.19.2.1")), XDP_PASS);
    EXPECT_EQ(deny_->size(), 0u);
}

TEST_F(Prefilter, ApplyChangesTheLiveGenerationEntryByEntry) {
    replace({{prefix("198.19.1.0/24"), inbound(1)}, {prefix("198.19.2.0/24"), inbound(1)}});
    datapath::DenyDiff diff;
    diff.put = {{prefix("198.19.3.0/24"), inbound(2)},
                {prefix("198.19.1.0/24"), inbound(3)},
                {prefix("fd00:bad::/48"), inbound(2)}};
    diff.erase = {prefix("198.19.2.0/24"), prefix("198.19.99.0/24")}; // the second is absent
    auto status = deny_->apply(diff);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
    EXPECT_EQ(from(Address::v4("198.19.1.1")), XDP_DROP);
    EXPECT_EQ(from(Address::v4("198.19.2.1")), XDP_PASS); // its filter bit stays: no verdict
    EXPECT_EQ(from(Address::v4("198.19.3.1")), XDP_DROP);
    EXPECT_EQ(from(Address::v6("fd00:bad::1")), XDP_DROP);
    EXPECT_EQ(dropped_by(3), 1u);
    EXPECT_EQ(dropped_by(2), 2u);
    EXPECT_EQ(deny_->lookup(prefix("198.19.1.0/24")), inbound(3));
    EXPECT_EQ(deny_->size(), 3u);
}

TEST_F(Prefilter, ApplyWithoutGenerationOrBeyondCapacityRebuilds) {
    datapath::DenyDiff first;
    first.put = {{prefix("198.19.1.0/24"), inbound(1)}};
    ASSERT_TRUE(deny_->apply(first).ok());
    EXPECT_EQ(from(Address::v4("198.19.1.1")), XDP_DROP);
    // replace() leaves room for 4,096 more; 6,000 new /32s do not fit.
    datapath::DenyDiff many;
    for (uint32_t i = 0; i < 6000; ++i) {
        auto text = "198.18." + std::to_string(i >> 8) + "." + std::to_string(i & 0xff);
        many.put.push_back({prefix(text.c_str()), inbound(2)});
    }
    auto status = deny_->apply(many);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
    EXPECT_EQ(deny_->size(), 6001u);
    EXPECT_EQ(from(Address::v4("198.18.23.100")), XDP_DROP); // i = 23 * 256 + 100 < 6,000
    EXPECT_EQ(from(Address::v4("198.18.200.1")), XDP_PASS);
    EXPECT_EQ(from(Address::v4("198.19.1.1")), XDP_DROP);
}

TEST_F(Prefilter, BadSnapshotsAreRefusedAndChangeNothing) {
    replace({{prefix("198.19.1.0/24"), inbound(1)}});
    for (auto entries : std::vector<std::vector<DenyEntry>>{
             {{prefix("198.19.2.0/24"), DenyLists{0, 0}}},
             {{prefix("198.19.2.0/24"), inbound(256)}},
             {{prefix("198.19.2.0/24"), inbound(1)}, {prefix("198.19.2.0/24"), inbound(2)}}}) {
        auto status = deny_->replace(DenySnapshot{entries});
        EXPECT_FALSE(status.ok());
        EXPECT_EQ(from(Address::v4("198.19.1.1")), XDP_DROP);
        EXPECT_EQ(from(Address::v4("198.19.2.1")), XDP_PASS);
    }
}

// The program against a plain longest-prefix search over the same entries: random prefixes
// of every length in a few crowded ranges (so lengths and filter blocks collide), random
// sources in and around them.
TEST_F(Prefilter, AgreesWithLongestPrefixSearchOnRandomLists) {
    std::mt19937 random(17);
    std::vector<DenyEntry> entries;
    std::set<std::pair<std::array<uint8_t, 16>, uint8_t>> seen;
    auto random_address = [&](bool v4) {
        IpAddress address;
        address.family = v4 ? kFamilyIpv4 : kFamilyIpv6;
        // Crowded: 198.18.0.0/15 and 2001:db8::/30.
        address.bytes[0] = v4 ? 198 : 0x20;
        address.bytes[1] = v4 ? static_cast<uint8_t>(18 + random() % 2) : 0x01;
        address.bytes[2] = v4 ? static_cast<uint8_t>(random()) : 0x0d;
        address.bytes[3] =
            v4 ? static_cast<uint8_t>(random()) : static_cast<uint8_t>(0xb8 + random() % 4);
        if (!v4) {
            for (int i = 4; i < 16; ++i)
                address.bytes[i] = static_cast<uint8_t>(random() % 4);
        }
        return address;
    };
    auto masked = [](IpAddress address, unsigned length) {
        for (unsigned bit = length; bit < address.max_prefix_length(); ++bit)
            address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
        return address;
    };
    while (entries.size() < 3000) {
        const bool v4 = random() % 3 != 0;
        // Mostly exact addresses, some medium prefixes, a few short ones.
        const unsigned kind = random() % 100;
        unsigned length = kind < 60   ? (v4 ? 32 : 128)
                          : kind < 97 ? (v4 ? 24 + random() % 8 : 64 + random() % 64)
                                      : (v4 ? 20 + random() % 4 : 33 + random() % 31);
        IpPrefix p{masked(random_address(v4), length), static_cast<uint8_t>(length)};
        if (!seen.insert({p.address.bytes, p.length}).second)
            continue;
        uint16_t in = static_cast<uint16_t>(random() % 4 == 0 ? 0 : 1 + random() % 200);
        uint16_t out = static_cast<uint16_t>(in == 0 || random() % 2 ? 1 + random() % 200 : 0);
        entries.push_back({p, DenyLists{in, out}});
    }
    replace(entries);
    auto expected_list = [&](const IpAddress& address) -> uint16_t {
        int best = -1;
        uint16_t list = 0;
        for (const auto& entry : entries) {
            if (entry.prefix.address.family != address.family || entry.lists.inbound == 0 ||
                int{entry.prefix.length} <= best)
                continue;
            if (masked(address, entry.prefix.length) == entry.prefix.address) {
                best = entry.prefix.length;
                list = entry.lists.inbound;
            }
        }
        return list;
    };
    int dropped = 0;
    for (int i = 0; i < 4000; ++i) {
        IpAddress source = random_address(i % 3 != 0);
        uint16_t list = expected_list(source);
        auto before = deny_->counters();
        const bool v4 = source.is_ipv4();
        uint32_t verdict = from(Address::from_bytes(
            v4 ? AF_INET : AF_INET6, std::span<const uint8_t>(source.bytes.data(), v4 ? 4 : 16)));
        ASSERT_EQ(verdict, list ? XDP_DROP : XDP_PASS) << source.to_string();
        if (list) {
            ++dropped;
            EXPECT_EQ(deny_->counters()[list].packets, before[list].packets + 1)
                << source.to_string();
        }
    }
    // Both outcomes were exercised, many times.
    EXPECT_GT(dropped, 400) << "too few listed sources to mean anything";
    EXPECT_LT(dropped, 3600) << "too few unlisted sources to mean anything";
}

} // namespace
} // namespace flowwall::testing
