// SPDX-License-Identifier: Apache-2.0
// Packets nobody would write by hand, through the real loaded programs (BPF_PROG_TEST_RUN):
// random bytes, valid IPv4/IPv6 TCP/UDP/ICMP packets cut at random lengths, and valid
// packets with random header bytes overwritten. Whatever arrives, each program answers
// with one of its defined verdicts, and its per-CPU counters account for every packet
// (docs/datapath.md, Counters): exactly one reason per packet, with the packet's bytes,
// drops under drop reasons only, and one event outcome (sent, lost or suppressed) for each
// packet whose reason reports one.
//
// The seed is printed; FLOWWALL_FUZZ_SEED=<n> replays a run.
#include <linux/bpf.h>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

#include "src/datapath/deny_sets.h"
#include "src/datapath/netns.h"
#include "src/datapath/prefilter_object.h"
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

constexpr uint64_t kDefaultSeed = 20261122;
constexpr size_t kPacketsPerProgram = 20000;
// BPF_PROG_TEST_RUN refuses frames shorter than Ethernet plus the fixed IP header its
// ethertype claims (docs/datapath.md); no longer frame may be refused.
constexpr size_t kLongestRefusable = 54;
constexpr size_t kMaxPayload = 200; // frames stay well under the test run's page limit

const Address outside_v6 = Address::v6("fd00:198:19::5");
const Address denied_v4 = Address::v4("198.19.66.7");
const Address denied_v6 = Address::v6("fd00:bad::7");

uint64_t fuzz_seed() {
    const char* text = std::getenv("FLOWWALL_FUZZ_SEED");
    uint64_t seed = text != nullptr ? std::strtoull(text, nullptr, 0) : kDefaultSeed;
    std::cout << "packet fuzz seed: " << seed << " (replay: FLOWWALL_FUZZ_SEED=" << seed << ")\n";
    return seed;
}

std::string hex(const std::vector<uint8_t>& frame) {
    std::ostringstream out;
    for (uint8_t byte : frame)
        out << std::hex << std::setw(2) << std::setfill('0') << int(byte);
    return out.str();
}

// Frames from a seeded generator: the same seed gives the same frames.
class FrameSource {
public:
    explicit FrameSource(uint64_t seed) : random_(seed) {}

    std::vector<uint8_t> next() {
        switch (below(4)) {
        case 0:
            return random_bytes();
        case 1:
            return truncated(valid_packet());
        case 2:
            return mutated(valid_packet());
        default:
            return mutated(truncated(valid_packet()));
        }
    }

private:
    size_t below(size_t bound) {
        return std::uniform_int_distribution<size_t>(0, bound - 1)(random_);
    }
    bool chance(int percent) { return below(100) < static_cast<size_t>(percent); }
    uint8_t byte() { return static_cast<uint8_t>(below(256)); }
    uint16_t port() {
        static constexpr uint16_t kPorts[] = {0, 1, 22, 53, 80, 443, 3306, 5432, 8080, 65535};
        return chance(70) ? kPorts[below(std::size(kPorts))] : static_cast<uint16_t>(below(65536));
    }

    std::vector<uint8_t> random_bytes() {
        std::vector<uint8_t> frame(below(chance(30) ? 64 : 320));
        for (auto& b : frame)
            b = byte();
        // Mostly claim a type the programs parse further, so the bytes reach the IP parser.
        static constexpr uint16_t kTypes[] = {0x0800, 0x86dd, 0x8100, 0x0806};
        if (frame.size() >= 14 && chance(75)) {
            uint16_t type = kTypes[below(std::size(kTypes))];
            frame[12] = static_cast<uint8_t>(type >> 8);
            frame[13] = static_cast<uint8_t>(type);
        }
        return frame;
    }

    const Address& endpoint(bool v6) {
        static const Address* kV4[] = {&web.v4,     &db.v4,          &intruder.v4,
                                       &outside_v4, &cidr_member_v4, &denied_v4};
        static const Address* kV6[] = {&web.v6, &db.v6, &intruder.v6, &outside_v6, &denied_v6};
        return v6 ? *kV6[below(std::size(kV6))] : *kV4[below(std::size(kV4))];
    }

    PacketBuilder valid_packet() {
        const bool v6 = chance(50);
        const Address& src = endpoint(v6);
        const Address& dst = endpoint(v6);
        PacketBuilder packet = [&] {
            switch (below(5)) {
            case 0:
                return PacketBuilder::tcp(src, port(), dst, port(), byte());
            case 1:
                return PacketBuilder::udp(src, port(), dst, port());
            case 2:
                return PacketBuilder::icmp_echo(src, dst, static_cast<uint16_t>(below(65536)),
                                                chance(50));
            case 3:
                return PacketBuilder::icmp(src, dst, byte(), byte());
            default:
                return PacketBuilder::ip_proto(src, dst, byte(), below(64));
            }
        }();
        if (!v6 && chance(20))
            packet.ipv4_options(4 * below(11));
        if (!v6 && chance(15))
            packet.ipv4_fragment(static_cast<uint16_t>(8 * below(200)), chance(50));
        static constexpr uint8_t kExtensions[] = {IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
                                                  IPPROTO_FRAGMENT, IPPROTO_AH};
        for (size_t i = 0, n = v6 && chance(30) ? below(9) : 0; i < n; ++i) {
            uint8_t type = kExtensions[below(std::size(kExtensions))];
            if (type == IPPROTO_FRAGMENT)
                packet.ipv6_extension(type, static_cast<uint16_t>(8 * below(4)), chance(50));
            else
                packet.ipv6_extension(type);
        }
        if (chance(10))
            packet.vlan(static_cast<uint16_t>(below(4096)));
        if (chance(30))
            packet.payload_size(below(kMaxPayload));
        return packet;
    }

    std::vector<uint8_t> truncated(const PacketBuilder& packet) {
        // Mostly inside the headers, where the parser's bounds checks are, and past the
        // fixed IP header: the test run refuses shorter IP frames before the program runs.
        const size_t limit =
            chance(80) ? std::min(packet.size(), packet.l4_offset() + 24) : packet.size();
        const size_t shortest = chance(80) ? std::min(limit, packet.l3_offset() + 20) : 0;
        return packet.build_truncated(shortest + below(limit - shortest + 1));
    }

    std::vector<uint8_t> mutated(const PacketBuilder& packet) { return mutated(packet.build()); }

    std::vector<uint8_t> mutated(std::vector<uint8_t> frame) {
        if (frame.empty())
            return frame;
        static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x04, 0x06, 0x11, 0x3a, 0x40,
                                                   0x45, 0x4f, 0x60, 0x7f, 0x80, 0xfe, 0xff};
        // Header bytes matter; the payload is not read.
        const size_t region = std::min<size_t>(frame.size(), 14 + 4 + 40 + 64 + 24);
        for (size_t i = 0, n = 1 + below(4); i < n; ++i) {
            uint8_t& target = frame[below(region)];
            switch (below(3)) {
            case 0:
                target = byte();
                break;
            case 1:
                target ^= static_cast<uint8_t>(1u << below(8));
                break;
            default:
                target = kInteresting[below(std::size(kInteresting))];
            }
        }
        return frame;
    }

    std::mt19937_64 random_;
};

std::vector<std::vector<uint8_t>> make_frames(uint64_t seed) {
    FrameSource source(seed);
    std::vector<std::vector<uint8_t>> frames(kPacketsPerProgram);
    for (auto& frame : frames)
        frame = source.next();
    return frames;
}

bool is_xdp_reason(uint32_t reason) {
    return reason == FW_REASON_CIDR_DENY || reason == FW_REASON_PREFILTER_PASS;
}

// What one program did with the frames, and whether its counters account for it.
struct RunTally {
    uint64_t passed = 0;
    uint64_t dropped = 0;
    uint64_t refused = 0; // by BPF_PROG_TEST_RUN itself, before the program ran
    uint64_t bytes = 0;
};

class PacketFuzz : public FirewallFixture {
protected:
    void arrange() override {
        // Every mode at once, so that every reason can come up.
        set_mode(web.identity, FW_MODE_BLOCK);
        set_mode(db.identity, FW_MODE_ALERT);
        set_mode(intruder.identity, FW_MODE_LEARN);
        set_mode(cidr_identity, FW_MODE_OFF);
        allow(flow(web.identity, db.identity, 80, IPPROTO_TCP));
        allow(flow(web.identity, db.identity, 53, IPPROTO_UDP));

        auto prefilter = datapath::PrefilterObject::load({});
        ASSERT_TRUE(prefilter.ok()) << prefilter.error().to_string();
        prefilter_ = std::move(prefilter).value();
        datapath::DenySnapshot lists;
        for (const char* prefix : {"198.19.66.0/24", "fd00:bad::/32"})
            lists.entries.push_back({IpPrefix::parse(prefix).value(), {1, 1}});
        datapath::DenySets deny({prefilter_->maps().deny});
        ASSERT_TRUE(deny.replace(lists).ok());
    }

    // Runs every frame; each verdict must be `pass` or `drop` of that program.
    RunTally run_all(int program_fd, const std::vector<std::vector<uint8_t>>& frames, uint32_t pass,
                     uint32_t drop, const char* program) {
        RunTally tally;
        for (const auto& frame : frames) {
            auto result = datapath::test_run(program_fd, frame);
            if (!result.ok()) {
                EXPECT_TRUE(frame.size() < kLongestRefusable && result.error().errnum == EINVAL)
                    << program << ": " << result.error().to_string() << "; frame " << hex(frame);
                ++tally.refused;
                continue;
            }
            uint32_t verdict = result.value().retval;
            if (verdict != pass && verdict != drop) {
                ADD_FAILURE() << program << ": verdict " << verdict
                              << " is not one the program defines; frame " << hex(frame);
                continue;
            }
            (verdict == drop ? tally.dropped : tally.passed) += 1;
            tally.bytes += frame.size();
        }
        return tally;
    }

    // The counters promise one reason per packet, with its bytes, and the verdict the reason
    // stands for.
    static void expect_accounted(const std::array<fw_counter_value, FW_CTR_MAX>& counters,
                                 const RunTally& tally, bool xdp, const char* program) {
        uint64_t passed = 0, dropped = 0, bytes = 0;
        std::ostringstream reasons;
        for (uint32_t reason = 0; reason < FW_REASON_MAX; ++reason) {
            const auto& counter = counters[reason];
            if (is_xdp_reason(reason) != xdp) {
                EXPECT_EQ(counter.packets, 0u) << program << " counted " << reason_name(reason);
                continue;
            }
            (fw_reason_is_drop(reason) ? dropped : passed) += counter.packets;
            bytes += counter.bytes;
            if (counter.packets != 0)
                reasons << " " << reason_name(reason) << "=" << counter.packets;
        }
        std::cout << program << ": " << tally.passed << " passed, " << tally.dropped << " dropped, "
                  << tally.refused << " refused by the test run;" << reasons.str() << "\n";
        EXPECT_EQ(passed, tally.passed) << program;
        EXPECT_EQ(dropped, tally.dropped) << program;
        EXPECT_EQ(bytes, tally.bytes) << program;
    }

    std::unique_ptr<datapath::PrefilterObject> prefilter_;

    void every_packet_gets_a_defined_verdict_and_is_counted_once();
};

TEST_F(PacketFuzz, EveryPacketGetsADefinedVerdictAndIsCountedOnce) {
    every_packet_gets_a_defined_verdict_and_is_counted_once();
}

// The same frames through an interface with web's entry (bpf/lib/sender.h, the interface
// map): the sender checks see every kind of frame, forged, cut and mutated ones too.
TEST_F(PacketFuzz, OnAGuardedInterfaceToo) {
    auto cookie = datapath::netns_cookie_of("");
    ASSERT_TRUE(cookie.ok()) << cookie.error().to_string();
    datapath::InterfaceWorkload entry{
        .identity = web.identity,
        .mac = datapath::MacAddress{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, // the builder's
        .addresses = {IpAddress::parse(web.v4.str()).value(),
                      IpAddress::parse(web.v6.str()).value()}};
    ASSERT_TRUE(maps().ifaces.put({cookie.value(), 1}, entry).ok()); // loopback: the test runs'
    every_packet_gets_a_defined_verdict_and_is_counted_once();
}

void PacketFuzz::every_packet_gets_a_defined_verdict_and_is_counted_once() {
    const auto frames = make_frames(fuzz_seed());
    RunTally tc;
    for (auto [program, name] : {std::pair{FirewallProgram::from_workload, "from_workload"},
                                 std::pair{FirewallProgram::to_workload, "to_workload"}}) {
        auto before = datapath::read_all_counters(maps().stats);
        auto tally = run_all(firewall_->program_fd(program), frames,
                             static_cast<uint32_t>(TC_ACT_UNSPEC), TC_ACT_SHOT, name);
        auto after = datapath::read_all_counters(maps().stats);
        for (uint32_t i = 0; i < FW_CTR_MAX; ++i) {
            after[i].packets -= before[i].packets;
            after[i].bytes -= before[i].bytes;
        }
        expect_accounted(after, tally, false, name);
        // Conntrack answers the second hook for connections the first one opened, so the
        // programs together see both kinds of packet.
        tc.passed += tally.passed;
        tc.dropped += tally.dropped;
    }
    EXPECT_GT(tc.passed, 0u);
    EXPECT_GT(tc.dropped, 0u);

    // Each packet whose reason reports an event got exactly one outcome for it.
    auto counters = datapath::read_all_counters(maps().stats);
    uint64_t reporting = 0;
    for (uint32_t reason = 0; reason < FW_REASON_MAX; ++reason) {
        if (fw_event_kind_of(reason) != 0)
            reporting += counters[reason].packets;
    }
    EXPECT_GT(reporting, 0u);
    EXPECT_EQ(counters[FW_CTR_EVENTS_SENT].packets + counters[FW_CTR_EVENTS_LOST].packets +
                  counters[FW_CTR_EVENTS_SUPPRESSED].packets,
              reporting);

    auto xdp = run_all(prefilter_->program_fd(), frames, XDP_PASS, XDP_DROP, "uplink_prefilter");
    expect_accounted(datapath::read_all_counters(prefilter_->maps().stats), xdp, true,
                     "uplink_prefilter");
    EXPECT_GT(xdp.passed, 0u);
    EXPECT_GT(xdp.dropped, 0u);
}

} // namespace
} // namespace flowwall::testing
