// SPDX-License-Identifier: Apache-2.0
// The XDP prefilter with deny lists of 10 to 1,000,000 prefixes (issue 17): ns per packet
// through BPF_PROG_TEST_RUN for uplink_prefilter, an empty XDP program and, as the reference,
// one plain BPF LPM trie holding the same prefixes (lpm_reference.bpf.c), all in the same run
// on the same packets; then the time and kernel memory to load the set (DenySets::replace)
// and to apply a 1% change to it (DenySets::apply).
//
// The prefixes are a mix like real feeds: IPv4 (80%) mostly single addresses, /24s and some
// /17-/31, at most 50 short blocks (/10-/16); IPv6 (20%) /128s, /64s, /48s and /29-/47, all
// spread at random over the unicast space. Sources: `--sources` distinct addresses per case
// (default 4,096), unlisted ones checked against the list, listed ones drawn inside random
// prefixes. Each packet runs `--repeat` times per call (the kernel reports the mean; default
// 1: each packet once, after a syscall, so caches are as a stream of distinct sources leaves
// them), over `--rounds` rounds (the median is shown). With --repeat > 1 the packet first runs
// once untimed, and every call costs two RCU grace periods of wall time (the kernel swaps the
// XDP dispatcher in and out), not of measured time.
//
//   bench/prefilter_bench [--json] [--smoke] [--sources N] [--repeat N] [--rounds N]
//                         [--sizes a,b,...]
//
// --smoke: 10 and 10,000 prefixes, 512 sources: seconds, for ctest (label bench).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "empty.skel.h"
#include "lpm_reference.skel.h"
#include "src/common/ip_address.h"
#include "src/datapath/deny_sets.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/prefilter_object.h"
#include "src/datapath/test_run.h"
#include "tests/support/packet_builder.h"

namespace {

using flowwall::IpAddress;
using flowwall::IpPrefix;
using flowwall::datapath::DenyEntry;
using flowwall::datapath::DenySets;
using flowwall::datapath::DenySnapshot;
using flowwall::testing::Address;
using flowwall::testing::PacketBuilder;
using Clock = std::chrono::steady_clock;

struct Settings {
    bool json = false;
    int sources = 4096;
    int repeat = 1;
    int rounds = 3;
    bool warm = false; // each packet once untimed right before its timed run
    std::vector<uint32_t> sizes{10, 10000, 100000, 1000000};
};

IpAddress masked(IpAddress address, unsigned length) {
    for (unsigned bit = length; bit < address.max_prefix_length(); ++bit)
        address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    return address;
}

IpAddress random_v4(std::mt19937_64& random) {
    IpAddress address;
    address.family = flowwall::kFamilyIpv4;
    uint32_t value = static_cast<uint32_t>(random());
    value = (1u << 24) + value % ((224u << 24) - (1u << 24)); // 1.0.0.0 - 223.255.255.255
    for (int i = 0; i < 4; ++i)
        address.bytes[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
    return address;
}

IpAddress random_v6(std::mt19937_64& random) {
    IpAddress address;
    address.family = flowwall::kFamilyIpv6;
    for (auto& byte : address.bytes)
        byte = static_cast<uint8_t>(random());
    address.bytes[0] = static_cast<uint8_t>(0x20 | (address.bytes[0] & 0x1f)); // 2000::/3
    return address;
}

unsigned v4_length(std::mt19937_64& random, uint32_t& short_left) {
    unsigned kind = random() % 100;
    if (kind == 0 && short_left > 0) {
        --short_left;
        return 10 + random() % 7;
    }
    if (kind < 70)
        return 32;
    if (kind < 88)
        return 24;
    if (kind < 94)
        return 25 + random() % 7;
    return 17 + random() % 7;
}

unsigned v6_length(std::mt19937_64& random) {
    unsigned kind = random() % 100;
    if (kind < 50)
        return 128;
    if (kind < 65)
        return 64;
    if (kind < 85)
        return 48;
    return 29 + random() % 19;
}

std::string key_bytes(const IpPrefix& prefix) {
    auto key = flowwall::datapath::cidr_key(prefix);
    return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
}

std::vector<DenyEntry> make_prefixes(uint32_t count, std::mt19937_64& random) {
    std::vector<DenyEntry> entries;
    std::unordered_set<std::string> seen;
    entries.reserve(count);
    seen.reserve(count);
    uint32_t short_left = 50;
    while (entries.size() < count) {
        const bool v6 = random() % 5 == 0;
        unsigned length = v6 ? v6_length(random) : v4_length(random, short_left);
        IpPrefix prefix{masked(v6 ? random_v6(random) : random_v4(random), length),
                        static_cast<uint8_t>(length)};
        if (!seen.insert(key_bytes(prefix)).second)
            continue;
        auto list = static_cast<uint16_t>(1 + random() % 8);
        entries.push_back({prefix, {list, static_cast<uint16_t>(random() % 2 ? list : 0)}});
    }
    return entries;
}

// Longest-prefix oracle for picking unlisted sources.
class ListedCheck {
public:
    explicit ListedCheck(const std::vector<DenyEntry>& entries) {
        for (const auto& entry : entries)
            keys_.insert(key_bytes(entry.prefix));
    }
    bool listed(const IpAddress& address) const {
        for (unsigned length = 0; length <= address.max_prefix_length(); ++length) {
            IpPrefix prefix{masked(address, length), static_cast<uint8_t>(length)};
            if (keys_.count(key_bytes(prefix)))
                return true;
        }
        return false;
    }

private:
    std::unordered_set<std::string> keys_;
};

std::vector<uint8_t> frame_from(const IpAddress& source) {
    const bool v4 = source.is_ipv4();
    auto from = Address::from_bytes(v4 ? AF_INET : AF_INET6,
                                    std::span<const uint8_t>(source.bytes.data(), v4 ? 4 : 16));
    return PacketBuilder::udp(from, 40000, v4 ? Address::v4("198.18.0.1") : Address::v6("fd00::1"),
                              53)
        .build();
}

std::vector<std::vector<uint8_t>> unlisted_sources(const ListedCheck& check, int count,
                                                   std::mt19937_64& random) {
    std::vector<std::vector<uint8_t>> frames;
    while (static_cast<int>(frames.size()) < count) {
        auto address = random() % 5 == 0 ? random_v6(random) : random_v4(random);
        if (!check.listed(address))
            frames.push_back(frame_from(address));
    }
    return frames;
}

std::vector<std::vector<uint8_t>> listed_sources(const std::vector<DenyEntry>& entries, int count,
                                                 std::mt19937_64& random) {
    std::vector<std::vector<uint8_t>> frames;
    for (int i = 0; i < count; ++i) {
        const auto& entry = entries[random() % entries.size()];
        IpAddress address = entry.prefix.address;
        // Random host bits inside the prefix.
        for (unsigned bit = entry.prefix.length; bit < address.max_prefix_length(); ++bit) {
            if (random() % 2)
                address.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
        }
        frames.push_back(frame_from(address));
    }
    return frames;
}

double mean_ns_once(int program_fd, const std::vector<std::vector<uint8_t>>& frames, int repeat,
                    bool warm) {
    uint64_t total = 0;
    for (const auto& frame : frames) {
        if (repeat > 1 || warm)
            flowwall::datapath::test_run(program_fd, frame, 1).value_or_throw();
        total += flowwall::datapath::test_run(program_fd, frame, static_cast<uint32_t>(repeat))
                     .value_or_throw()
                     .duration_ns;
    }
    return static_cast<double>(total) / static_cast<double>(frames.size());
}

// Median over rounds of the mean over the frames.
double mean_ns(int program_fd, const std::vector<std::vector<uint8_t>>& frames,
               const Settings& settings) {
    std::vector<double> rounds;
    for (int round = 0; round < settings.rounds; ++round)
        rounds.push_back(mean_ns_once(program_fd, frames, settings.repeat, settings.warm));
    std::sort(rounds.begin(), rounds.end());
    return rounds[rounds.size() / 2];
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct SizeResult {
    uint32_t prefixes = 0;
    double empty_unlisted = 0, prefilter_unlisted = 0, trie_unlisted = 0;
    double empty_listed = 0, prefilter_listed = 0, trie_listed = 0;
    double load_ms = 0, change_ms = 0, trie_load_ms = 0;
    uint64_t memory_bytes = 0, trie_memory_bytes = 0;
    uint32_t changed = 0;
};

struct LpmDeleter {
    void operator()(lpm_reference_bpf* skeleton) const { lpm_reference_bpf__destroy(skeleton); }
};

SizeResult run_size(uint32_t size, int empty_fd, const Settings& settings,
                    std::mt19937_64& random) {
    SizeResult result;
    result.prefixes = size;
    auto entries = make_prefixes(size, random);

    auto prefilter = flowwall::datapath::PrefilterObject::load({}).value_or_throw();
    DenySets deny({prefilter->maps().deny});
    auto start = Clock::now();
    if (auto status = deny.replace(DenySnapshot{entries}); !status)
        throw std::runtime_error(status.error().to_string());
    result.load_ms = ms_since(start);
    result.memory_bytes = deny.kernel_memory_bytes();

    std::unique_ptr<lpm_reference_bpf, LpmDeleter> reference(lpm_reference_bpf__open_and_load());
    if (!reference)
        throw std::runtime_error("load bench/lpm_reference.bpf.c");
    const int trie_fd = bpf_map__fd(reference->maps.reference_trie);
    start = Clock::now();
    for (const auto& entry : entries) {
        auto key = flowwall::datapath::cidr_key(entry.prefix);
        uint32_t list = entry.lists.inbound;
        if (bpf_map_update_elem(trie_fd, &key, &list, BPF_ANY) != 0)
            throw std::runtime_error("fill the reference trie");
    }
    result.trie_load_ms = ms_since(start);
    result.trie_memory_bytes = flowwall::datapath::map_memory_bytes(trie_fd);

    // Only inbound entries drop in XDP: listed sources come from those.
    std::vector<DenyEntry> inbound;
    for (const auto& entry : entries) {
        if (entry.lists.inbound)
            inbound.push_back(entry);
    }
    ListedCheck check(entries);
    auto unlisted = unlisted_sources(check, settings.sources, random);
    auto listed = listed_sources(inbound, settings.sources, random);
    const int prefilter_fd = prefilter->program_fd();
    const int trie_prog = bpf_program__fd(reference->progs.lpm_reference);
    result.empty_unlisted = mean_ns(empty_fd, unlisted, settings);
    result.prefilter_unlisted = mean_ns(prefilter_fd, unlisted, settings);
    result.trie_unlisted = mean_ns(trie_prog, unlisted, settings);
    result.empty_listed = mean_ns(empty_fd, listed, settings);
    result.prefilter_listed = mean_ns(prefilter_fd, listed, settings);
    result.trie_listed = mean_ns(trie_prog, listed, settings);
    // The verdicts themselves, so a figure never comes from a program that passes everything.
    for (const auto& frame : listed) {
        if (flowwall::datapath::test_run(prefilter_fd, frame).value_or_throw().retval != XDP_DROP)
            throw std::runtime_error("a listed source passed the prefilter");
    }
    for (const auto& frame : unlisted) {
        if (flowwall::datapath::test_run(prefilter_fd, frame).value_or_throw().retval != XDP_PASS)
            throw std::runtime_error("an unlisted source was dropped by the prefilter");
    }

    // A 1% change: half of it prefixes that go, half new ones.
    flowwall::datapath::DenyDiff diff;
    const uint32_t half = std::max<uint32_t>(size / 200, 1);
    for (uint32_t i = 0; i < half && i < entries.size(); ++i)
        diff.erase.push_back(entries[i].prefix);
    diff.put = make_prefixes(half, random);
    result.changed = static_cast<uint32_t>(diff.erase.size() + diff.put.size());
    start = Clock::now();
    if (auto status = deny.apply(diff); !status)
        throw std::runtime_error(status.error().to_string());
    result.change_ms = ms_since(start);
    return result;
}

Settings parse_args(int argc, char** argv) {
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--json") {
            settings.json = true;
        } else if (arg == "--warm") {
            settings.warm = true;
        } else if (arg == "--smoke") {
            settings.sizes = {10, 10000};
            settings.sources = 512;
            settings.rounds = 1;
        } else if ((arg == "--sources" || arg == "--repeat" || arg == "--rounds") && i + 1 < argc) {
            int value = std::atoi(argv[++i]);
            if (value <= 0)
                throw std::invalid_argument(arg + " needs a positive number");
            (arg == "--sources"  ? settings.sources
             : arg == "--repeat" ? settings.repeat
                                 : settings.rounds) = value;
        } else if (arg == "--sizes" && i + 1 < argc) {
            settings.sizes.clear();
            std::stringstream list(argv[++i]);
            for (std::string item; std::getline(list, item, ',');)
                settings.sizes.push_back(static_cast<uint32_t>(std::stoul(item)));
        } else {
            throw std::invalid_argument("unknown argument '" + arg +
                                        "'; usage: prefilter_bench [--json] [--smoke] "
                                        "[--sources N] [--repeat N] [--rounds N] "
                                        "[--sizes a,b,...]");
        }
    }
    return settings;
}

} // namespace

int main(int argc, char** argv) try {
    const Settings settings = parse_args(argc, argv);
    if (geteuid() != 0) {
        std::cerr << "prefilter_bench: needs root (loads XDP programs)\n";
        return std::getenv("CI") != nullptr ? 1 : 77; // CI must run it: a skip there is a failure
    }
    empty_bpf* empty = empty_bpf__open_and_load();
    if (!empty)
        throw std::runtime_error("load bench/empty.bpf.c");
    const int empty_fd = bpf_program__fd(empty->progs.empty_xdp);

    std::mt19937_64 random(17);
    std::vector<SizeResult> results;
    for (uint32_t size : settings.sizes)
        results.push_back(run_size(size, empty_fd, settings, random));
    empty_bpf__destroy(empty);

    if (settings.json) {
        for (const auto& r : results)
            std::cout << nlohmann::json{{"prefixes", r.prefixes},
                                        {"sources", settings.sources},
                                        {"repeat", settings.repeat},
                                        {"rounds", settings.rounds},
                                        {"empty_unlisted_ns", r.empty_unlisted},
                                        {"prefilter_unlisted_ns", r.prefilter_unlisted},
                                        {"trie_unlisted_ns", r.trie_unlisted},
                                        {"empty_listed_ns", r.empty_listed},
                                        {"prefilter_listed_ns", r.prefilter_listed},
                                        {"trie_listed_ns", r.trie_listed},
                                        {"load_ms", r.load_ms},
                                        {"trie_load_ms", r.trie_load_ms},
                                        {"memory_bytes", r.memory_bytes},
                                        {"trie_memory_bytes", r.trie_memory_bytes},
                                        {"change_entries", r.changed},
                                        {"change_ms", r.change_ms}}
                             .dump()
                      << "\n";
        return 0;
    }
    std::printf("ns per packet over the empty XDP program (%d sources per case, repeat %d, "
                "median of %d rounds)\n",
                settings.sources, settings.repeat, settings.rounds);
    std::printf("%9s %7s | %10s %10s %10s | %10s %10s %10s\n", "prefixes", "empty", "unlisted",
                "trie", "ratio", "listed", "trie", "ratio");
    for (const auto& r : results) {
        double pu = r.prefilter_unlisted - r.empty_unlisted,
               tu = r.trie_unlisted - r.empty_unlisted;
        double pl = r.prefilter_listed - r.empty_listed, tl = r.trie_listed - r.empty_listed;
        std::printf("%9u %5.1f ns | %+7.1f ns %+7.1f ns %10.2f | %+7.1f ns %+7.1f ns %10.2f\n",
                    r.prefixes, r.empty_unlisted, pu, tu, tu > 0 ? pu / tu : 0.0, pl, tl,
                    tl > 0 ? pl / tl : 0.0);
    }
    std::printf("\nload and change (DenySets; the trie filled entry by entry for reference)\n");
    std::printf("%9s %10s %12s %12s %14s %10s\n", "prefixes", "load", "kernel mem", "trie load",
                "trie mem", "1% change");
    for (const auto& r : results)
        std::printf("%9u %7.1f ms %9.1f MiB %9.1f ms %11.1f MiB %7.1f ms (%u entries)\n",
                    r.prefixes, r.load_ms, r.memory_bytes / 1048576.0, r.trie_load_ms,
                    r.trie_memory_bytes / 1048576.0, r.change_ms, r.changed);
    return 0;
} catch (const std::exception& error) {
    std::cerr << "prefilter_bench: " << error.what() << "\n";
    return 1;
}
