// SPDX-License-Identifier: Apache-2.0
// How many distinct new flows per second the learning loop takes in: the datapath (run
// through BPF_PROG_TEST_RUN in learn mode) fills the ring buffer with learned-flow events,
// then the daemon's own EventPump drains them into the model (names looked up, flow
// recorded, learning schedule updated). Baseline, in the same process: draining the same
// number of events with a handler that only counts them, so the ratio is the cost of the
// learning loop over reading the ring. Also: the model save time at the resulting size.
//
//   learning_bench [--flows 100000] [--json]
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/test_run.h"
#include "src/enforcement/event_pump.h"
#include "src/enforcement/firewall_policy.h"
#include "tests/support/packet_builder.h"

#include <netinet/tcp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

using namespace flowwall;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSources = 16; // source identities; flows differ by source and port

struct Generator {
    datapath::FirewallObject& firewall;
    std::vector<testing::Address> sources;
    testing::Address destination = testing::Address::v4("198.18.2.1");

    // n SYNs of distinct flows (source identity x destination port from first_port on).
    double run(int n, int first_port) {
        int prog = firewall.program_fd(datapath::FirewallProgram::from_workload);
        auto start = Clock::now();
        for (int i = 0; i < n; ++i) {
            const auto& src = sources[i % kSources];
            uint16_t port = static_cast<uint16_t>(first_port + i / kSources);
            auto frame = testing::PacketBuilder::tcp(src, 40000, destination, port, TH_SYN).build();
            auto result = datapath::test_run(prog, frame);
            if (!result)
                throw std::runtime_error(result.error().to_string());
        }
        return std::chrono::duration<double>(Clock::now() - start).count();
    }
};

// The walk tick() used to do: two syscalls per entry.
size_t walk_key_by_key(int fd) {
    fw_policy_key key{}, next{};
    fw_policy_value value{};
    const fw_policy_key* cursor = nullptr;
    size_t n = 0;
    while (bpf_map_get_next_key(fd, cursor, &next) == 0) {
        if (bpf_map_lookup_elem(fd, &next, &value) == 0)
            ++n;
        key = next;
        cursor = &key;
    }
    return n;
}

} // namespace

int main(int argc, char** argv) {
    int flows = 100000;
    bool as_json = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--flows" && i + 1 < argc)
            flows = std::clamp(std::stoi(argv[++i]), 1000, 150000);
        else if (arg == "--json")
            as_json = true;
        else {
            std::fprintf(stderr, "usage: %s [--flows N (1000..150000)] [--json]\n", argv[0]);
            return 2;
        }
    }
    spdlog::set_level(spdlog::level::warn);
    auto state_dir = std::filesystem::temp_directory_path() /
                     ("flowwall-learning-bench-" + std::to_string(::getpid()));
    try {
        datapath::FirewallOptions options;
        options.capacities.event_buffer_bytes = 32u << 20; // holds every event of a phase
        options.capacities.policy_entries = 2 * 150000 + 1024;
        options.capacities.dedup_entries = 2 * 150000 + 1024;
        auto firewall = datapath::FirewallObject::load(options).value_or_throw();
        auto& maps = firewall->maps();
        maps.settings.update(0, fw_settings{.default_mode = FW_MODE_LEARN, .flags = 0})
            .value_or_throw();

        auto registry = identity::IdentityRegistry::open(state_dir, 65536).value_or_throw();
        Generator generator{*firewall, {}};
        for (int s = 0; s < kSources; ++s) {
            auto address = testing::Address::v4("198.18.1." + std::to_string(10 + s));
            generator.sources.push_back(address);
            uint32_t id = registry.id_for("web-" + std::to_string(s)).value_or_throw();
            maps.ipcache
                .update(datapath::ipcache_key(IpAddress::parse(address.str()).value()),
                        fw_identity_info{.identity = id, .flags = FW_IDENTITY_F_LOCAL})
                .value_or_throw();
        }
        uint32_t db = registry.id_for("db").value_or_throw();
        maps.ipcache
            .update(datapath::ipcache_key(IpAddress::parse("198.18.2.1").value()),
                    fw_identity_info{.identity = db, .flags = FW_IDENTITY_F_LOCAL})
            .value_or_throw();

        enforcement::PolicyOptions policy_options;
        policy_options.state_dir = state_dir;
        policy_options.node = "bench";
        policy_options.kernel_scan_interval = std::chrono::milliseconds(0); // every tick
        // Stands in for the datapath's events_lost counter, so the bench says when a tick scans.
        std::atomic<uint64_t> events_lost{0};
        policy_options.events_lost = [&events_lost] { return events_lost.load(); };
        auto policy =
            enforcement::FirewallPolicy::open(policy_options, registry, {maps.policy, maps.modes})
                .value_or_throw();
        audit::AuditStream stream;

        // Baseline: read the ring, count.
        double generate_baseline = generator.run(flows, 1);
        uint64_t counted = 0;
        auto counter = datapath::EventReader::open(maps.events_fd, [&](const fw_event&) {
                           ++counted;
                       }).value_or_throw();
        auto start = Clock::now();
        counter.drain().value_or_throw();
        double read_only = std::chrono::duration<double>(Clock::now() - start).count();

        // The learning loop: the daemon's pump into the model and schedule.
        double generate = generator.run(flows, 1 + flows / kSources + 1);
        auto pump =
            enforcement::EventPump::open(
                maps.events_fd,
                {registry, *policy, nullptr, stream,
                 [] { return std::shared_ptr<const enforcement::WorkloadNames>(); }, "bench"})
                .value_or_throw();
        start = Clock::now();
        pump->drain().value_or_throw();
        double learning = std::chrono::duration<double>(Clock::now() - start).count();
        uint64_t pumped = pump->events();

        start = Clock::now();
        policy->save();
        double save = std::chrono::duration<double>(Clock::now() - start).count();

        // The safety-net scan of tick(): the kernel's policy map read in batches (outside the
        // policy lock), against the key-by-key walk it replaced, in the same run.
        start = Clock::now();
        size_t walked = walk_key_by_key(maps.policy.fd());
        double walk_keys = std::chrono::duration<double>(Clock::now() - start).count();
        start = Clock::now();
        size_t batched = maps.policy.entries().size();
        double walk_batches = std::chrono::duration<double>(Clock::now() - start).count();
        // The first tick adopts the baseline phase's flows: their events went to the counting
        // handler, never to the model, as events lost to a full ring would.
        start = Clock::now();
        policy->tick();
        double adopt = std::chrono::duration<double>(Clock::now() - start).count();
        // Later ticks, while an API caller asks for the flow count in a loop: its worst wait is
        // what a request meets during a tick. First after more events were lost (a scan that
        // finds nothing new), then the steady state (nothing lost: no scan).
        auto timed_tick = [&](double& worst_wait) {
            std::atomic<bool> ticking{true};
            worst_wait = 0;
            std::thread caller([&] {
                while (ticking) {
                    auto asked = Clock::now();
                    policy->flow_count();
                    worst_wait = std::max(
                        worst_wait, std::chrono::duration<double>(Clock::now() - asked).count());
                }
            });
            auto began = Clock::now();
            policy->tick();
            double took = std::chrono::duration<double>(Clock::now() - began).count();
            ticking = false;
            caller.join();
            return took;
        };
        double scan_wait = 0, steady_wait = 0;
        ++events_lost;
        double tick = timed_tick(scan_wait);
        double steady = timed_tick(steady_wait);
        if (walked != batched)
            throw std::runtime_error("the two walks of the policy map disagree");

        nlohmann::json out = {{"flows", flows},
                              {"datapath_learn_per_s", flows / generate},
                              {"baseline_read_events", counted},
                              {"baseline_read_per_s", counted / read_only},
                              {"learning_events", pumped},
                              {"model_flows", policy->flow_count()},
                              {"learning_loop_per_s", pumped / learning},
                              {"learning_cost_ratio", (learning / pumped) / (read_only / counted)},
                              {"model_save_ms", save * 1000},
                              {"policy_map_entries", batched},
                              {"policy_walk_key_by_key_ms", walk_keys * 1000},
                              {"policy_walk_batched_ms", walk_batches * 1000},
                              {"tick_adopting_lost_ms", adopt * 1000},
                              {"tick_with_scan_ms", tick * 1000},
                              {"api_worst_wait_during_scan_ms", scan_wait * 1000},
                              {"tick_steady_ms", steady * 1000},
                              {"api_worst_wait_steady_ms", steady_wait * 1000},
                              {"generator_baseline_s", generate_baseline}};
        if (as_json)
            std::cout << out.dump(2) << '\n';
        else
            std::printf("%d distinct new flows: learning loop %.0f events/s (reading the ring "
                        "alone: %.0f/s, x%.1f); datapath learned %.0f flows/s through "
                        "BPF_PROG_TEST_RUN; model of %zu flows saved in %.0f ms\n",
                        flows, pumped / learning, counted / read_only,
                        (learning / pumped) / (read_only / counted), flows / generate,
                        policy->flow_count(), save * 1000);
        if (!as_json)
            std::printf("policy map of %zu entries read in %.1f ms in batches (key by key: %.1f "
                        "ms, x%.1f); tick adopting %d lost flows %.0f ms; tick with a scan that "
                        "finds nothing %.1f ms (an API call waited at most %.1f ms); tick with "
                        "no events lost %.2f ms (API wait at most %.2f ms)\n",
                        batched, walk_batches * 1000, walk_keys * 1000, walk_keys / walk_batches,
                        flows, adopt * 1000, tick * 1000, scan_wait * 1000, steady * 1000,
                        steady_wait * 1000);
        std::filesystem::remove_all(state_dir);
        return pumped == static_cast<uint64_t>(flows) ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "learning_bench: %s\n", error.what());
        std::filesystem::remove_all(state_dir);
        return 1;
    }
}
