// SPDX-License-Identifier: Apache-2.0
// ns per packet through BPF_PROG_TEST_RUN for from_workload and, in the same run on the
// same packets, an empty TC program. Cases: (a) a packet of an established connection,
// (b) a new connection the model allows, (c) one it denies, all TCP; and a packet of an
// established UDP flow, the only kind that pays a conntrack lookup (TCP is not tracked); at
// 10, 1,000 and 100,000 identities and as many TCP and UDP flows in the model.
//
// Each case runs a mix of distinct packets (different identities and ports), so no single
// hot entry hides the map cost; each packet runs once untimed, then `--repeat` times in a
// row (the kernel reports the mean): the datapath with warm caches, as on a busy node.
// --repeat 1 measures each packet cold instead: then the syscall between runs evicts the
// maps from the cache and the figures mostly count misses.
//
// A bare SYN is judged in full every time it is seen (bpf/lib/conntrack.h), so repeating
// one measures a new connection each time: lookups and verdict.
//
// The packets leave through an interface with an fw_ifaces_v1 entry (the loopback device
// BPF_PROG_TEST_RUN runs on), as on a node where the daemon guards every workload: each one
// is checked against the sender's entry, among `entries` entries of other interfaces. So the
// sender is one workload (identity 0), talking to random peers; the "arp" case is an ARP
// request of its own (the L2 checks), "unguarded_established" the established case on an
// interface without entry (the lookup misses: the behaviour before the interface map).
//
//   bench/datapath_bench [--json] [--rounds N] [--packets N] [--repeat N]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "empty.skel.h"
#include "src/common/ip_address.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/netns.h"
#include "src/datapath/test_run.h"
#include "tests/support/packet_builder.h"

namespace {

using flowwall::datapath::FirewallObject;
using flowwall::datapath::FirewallProgram;
using flowwall::testing::Address;
using flowwall::testing::PacketBuilder;
using flowwall::testing::TcpFlags;

struct Settings {
    bool json = false;
    int rounds = 5;
    int packets = 1024;
    int repeat = 64;
};

struct CaseResult {
    std::string name;
    uint32_t entries;
    double ns_per_packet;
    double empty_ns_per_packet;
};

constexpr uint32_t first_identity = FW_ID_FIRST_ALLOCATED;

// Identity i owns 198.18.0.0 + i + 1 (the benchmarking range holds 131,070 hosts).
Address address_of(uint32_t i) {
    uint32_t host = (198u << 24) | (18u << 16);
    host += i + 1;
    char text[32];
    std::snprintf(text, sizeof(text), "%u.%u.%u.%u", host >> 24, (host >> 16) & 255,
                  (host >> 8) & 255, host & 255);
    return Address::v4(text);
}

constexpr uint16_t service_port = 5432;

// The entry of the sending workload's interface (loopback, where the test runs happen).
flowwall::datapath::InterfaceKey sender_interface() {
    return {flowwall::datapath::netns_cookie_of("").value_or_throw(), 1};
}

// A fresh firewall with `entries` workloads, each in block mode, and 4 x `entries` flows in
// the model: i -> i+1 and 0 -> i on the service port, TCP and UDP; `entries` interface
// entries, workload 0's on the loopback device.
std::unique_ptr<FirewallObject> populated_firewall(uint32_t entries) {
    flowwall::datapath::FirewallOptions options;
    options.capacities.ipcache_entries = entries + 16;
    options.capacities.policy_entries = 4 * entries + 16;
    options.capacities.interface_entries = entries + 16;
    options.capacities.mode_entries = first_identity + entries; // array indexed by identity
    options.capacities.conntrack_entries = 1 << 20;
    auto firewall = FirewallObject::load(options).value_or_throw();
    auto& maps = firewall->maps();
    for (uint32_t i = 0; i < entries; ++i) {
        auto ip = flowwall::IpAddress::parse(address_of(i).str()).value();
        maps.ipcache.update(flowwall::datapath::ipcache_key(ip), {first_identity + i, 0})
            .value_or_throw();
        maps.modes.update(first_identity + i, {FW_MODE_BLOCK}).value_or_throw();
        for (uint8_t protocol : {IPPROTO_TCP, IPPROTO_UDP}) {
            for (uint32_t peer : {(i + 1) % entries, i}) {
                uint32_t src = peer == i ? 0 : i; // i -> i+1, then 0 -> i
                auto flow = flowwall::datapath::policy_key(
                    first_identity + src, first_identity + peer, service_port, protocol);
                maps.policy.update(flow, {FW_POLICY_F_MANUAL}).value_or_throw();
            }
        }
        // Other interfaces, in another namespace: one per workload, up to the slots there
        // are (a node has hundreds of workloads, not 100,000; past the slots they would share
        // slots and be found in the hash).
        if (i < FW_IFACE_SLOTS - 2) {
            flowwall::datapath::InterfaceWorkload other{
                .identity = first_identity + i, .mac = std::nullopt, .addresses = {ip}};
            maps.ifaces.put({0x5eed0000ull, 2 + i}, other).value_or_throw();
        }
    }
    auto sender = flowwall::IpAddress::parse(address_of(0).str()).value();
    flowwall::datapath::InterfaceWorkload own{
        .identity = first_identity,
        .mac = flowwall::datapath::MacAddress{0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
        .addresses = {flowwall::IpAddress::parse("198.19.255.1").value(), sender,
                      flowwall::IpAddress::parse("fe80::1").value()}};
    maps.ifaces.put(sender_interface(), own).value_or_throw();
    return firewall;
}

// First packets (TCP: SYNs) from random workloads to their modelled (or, if `denied`,
// unmodelled) peer.
std::vector<std::vector<uint8_t>> opening_mix(uint32_t entries, int count, uint16_t port_base,
                                              bool denied, std::mt19937& random,
                                              uint8_t protocol = IPPROTO_TCP) {
    std::uniform_int_distribution<uint32_t> pick(0, entries - 1);
    std::vector<std::vector<uint8_t>> frames;
    for (int k = 0; k < count; ++k) {
        uint32_t i = 0; // the guarded sender
        uint32_t peer = pick(random);
        uint16_t dport = denied ? service_port + 1 : service_port;
        auto sport = static_cast<uint16_t>(port_base + k);
        frames.push_back(
            (protocol == IPPROTO_TCP
                 ? PacketBuilder::tcp(address_of(i), sport, address_of(peer), dport, TcpFlags::syn)
                 : PacketBuilder::udp(address_of(i), sport, address_of(peer), dport))
                .build());
    }
    return frames;
}

std::vector<std::vector<uint8_t>> acks_of(const std::vector<std::vector<uint8_t>>& syns) {
    auto acks = syns;
    for (auto& frame : acks)
        frame[14 + 20 + 13] = 0x10; // flags byte: ACK (checksum is not checked by TC)
    return acks;
}

// Mean ns of one run over the frames, for one program. With repeat > 1 each frame first runs
// once untimed: the figure is then the warm cost alone, not warm plus a 1/repeat share of a
// cold first run (cache and TLB misses, which grow with the tables and which --repeat 1
// measures on its own).
double mean_ns(int program_fd, const std::vector<std::vector<uint8_t>>& frames, int repeat) {
    uint64_t total = 0;
    for (const auto& frame : frames) {
        if (repeat > 1)
            flowwall::datapath::test_run(program_fd, frame, 1).value_or_throw();
        total += flowwall::datapath::test_run(program_fd, frame, static_cast<uint32_t>(repeat))
                     .value_or_throw()
                     .duration_ns;
    }
    return static_cast<double>(total) / static_cast<double>(frames.size());
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::vector<CaseResult> run_entries(uint32_t entries, int empty_fd, const Settings& settings,
                                    std::mt19937& random) {
    auto firewall = populated_firewall(entries);
    const int fw = firewall->program_fd(FirewallProgram::from_workload);
    std::vector<double> est, est_empty, allowed, allowed_empty, denied, denied_empty, udp,
        udp_empty, arp, arp_empty, bare, bare_empty;

    // (a) established: open the connections once, then measure their later packets.
    const int repeat = settings.repeat;
    auto opened = opening_mix(entries, settings.packets, 1024, false, random);
    mean_ns(fw, opened, 1);
    auto established = acks_of(opened);
    for (int round = 0; round < settings.rounds; ++round) {
        est_empty.push_back(mean_ns(empty_fd, established, repeat));
        est.push_back(mean_ns(fw, established, repeat));
    }
    // (b) new allowed connections: fresh source ports every round.
    for (int round = 0; round < settings.rounds; ++round) {
        auto fresh = opening_mix(entries, settings.packets,
                                 static_cast<uint16_t>(2048 + round * settings.packets % 60000),
                                 false, random);
        allowed_empty.push_back(mean_ns(empty_fd, fresh, repeat));
        allowed.push_back(mean_ns(fw, fresh, repeat));
    }
    // (c) denied: not in the model, both ends block; nothing is tracked.
    auto refused = opening_mix(entries, settings.packets, 3072, true, random);
    for (int round = 0; round < settings.rounds; ++round) {
        denied_empty.push_back(mean_ns(empty_fd, refused, repeat));
        denied.push_back(mean_ns(fw, refused, repeat));
    }
    // (a') established UDP: the first run of each packet opens its flow, later ones hit the
    // conntrack entry.
    auto flows = opening_mix(entries, settings.packets, 4096, false, random, IPPROTO_UDP);
    mean_ns(fw, flows, 1);
    for (int round = 0; round < settings.rounds; ++round) {
        udp_empty.push_back(mean_ns(empty_fd, flows, repeat));
        udp.push_back(mean_ns(fw, flows, repeat));
    }
    // ARP: the sender's own request (who-has 198.18.0.2 tell 198.18.0.1, its MAC).
    const std::vector<std::vector<uint8_t>> requests(static_cast<size_t>(settings.packets),
                                                     PacketBuilder::arp().build());
    for (int round = 0; round < settings.rounds; ++round) {
        arp_empty.push_back(mean_ns(empty_fd, requests, repeat));
        arp.push_back(mean_ns(fw, requests, repeat));
    }
    // The established packets again, on an interface without entry.
    firewall->maps().ifaces.erase(sender_interface()).value_or_throw();
    for (int round = 0; round < settings.rounds; ++round) {
        bare_empty.push_back(mean_ns(empty_fd, established, repeat));
        bare.push_back(mean_ns(fw, established, repeat));
    }
    return {{"established", entries, median(est), median(est_empty)},
            {"new_allowed", entries, median(allowed), median(allowed_empty)},
            {"new_denied", entries, median(denied), median(denied_empty)},
            {"established_udp", entries, median(udp), median(udp_empty)},
            {"arp", entries, median(arp), median(arp_empty)},
            {"unguarded_established", entries, median(bare), median(bare_empty)}};
}

Settings parse_args(int argc, char** argv) {
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--json") {
            settings.json = true;
        } else if ((arg == "--rounds" || arg == "--packets" || arg == "--repeat") && i + 1 < argc) {
            int value = std::atoi(argv[++i]);
            if (value <= 0)
                throw std::invalid_argument(arg + " wants a positive number");
            (arg == "--rounds"    ? settings.rounds
             : arg == "--packets" ? settings.packets
                                  : settings.repeat) = value;
        } else {
            throw std::invalid_argument("unknown argument '" + arg +
                                        "'; usage: datapath_bench [--json] [--rounds N] "
                                        "[--packets N] [--repeat N]");
        }
    }
    return settings;
}

} // namespace

int main(int argc, char** argv) try {
    const Settings settings = parse_args(argc, argv);
    empty_bpf* empty = empty_bpf__open_and_load();
    if (empty == nullptr) {
        std::cerr << "datapath_bench: cannot load the empty baseline program (root needed): "
                  << std::strerror(errno) << "\n";
        return 1;
    }
    const int empty_fd = bpf_program__fd(empty->progs.empty);
    std::mt19937 random(20261122);

    std::vector<CaseResult> results;
    for (uint32_t entries : {10u, 1000u, 100000u}) {
        auto part = run_entries(entries, empty_fd, settings, random);
        results.insert(results.end(), part.begin(), part.end());
    }
    empty_bpf__destroy(empty);

    if (settings.json) {
        for (const auto& r : results)
            std::cout << nlohmann::json{{"case", r.name},
                                        {"entries", r.entries},
                                        {"ns_per_packet", r.ns_per_packet},
                                        {"empty_ns_per_packet", r.empty_ns_per_packet}}
                             .dump()
                      << "\n";
        return 0;
    }
    std::printf("%-21s %8s %14s %10s %12s\n", "case", "entries", "from_workload", "empty",
                "difference");
    for (const auto& r : results)
        std::printf("%-21s %8u %11.1f ns %7.1f ns %+9.1f ns\n", r.name.c_str(), r.entries,
                    r.ns_per_packet, r.empty_ns_per_packet,
                    r.ns_per_packet - r.empty_ns_per_packet);
    return 0;
} catch (const std::exception& error) {
    std::cerr << "datapath_bench: " << error.what() << "\n";
    return 1;
}
