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

#include <cstdio>
#include <iostream>

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

        nlohmann::json out = {{"flows", flows},
                              {"datapath_learn_per_s", flows / generate},
                              {"baseline_read_events", counted},
                              {"baseline_read_per_s", counted / read_only},
                              {"learning_events", pumped},
                              {"model_flows", policy->flow_count()},
                              {"learning_loop_per_s", pumped / learning},
                              {"learning_cost_ratio", (learning / pumped) / (read_only / counted)},
                              {"model_save_ms", save * 1000},
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
        std::filesystem::remove_all(state_dir);
        return pumped == static_cast<uint64_t>(flows) ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "learning_bench: %s\n", error.what());
        std::filesystem::remove_all(state_dir);
        return 1;
    }
}
