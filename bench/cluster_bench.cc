// SPDX-License-Identifier: Apache-2.0
// The cluster through one real etcd on this machine (Debian's etcd-server), with simulated
// nodes: ClusterAgents, the same code flowwalld runs, without a datapath.
//
//   propagation  node A's endpoint change -> the entry in node B's remote view (what B writes
//                into its ipcache next): median and p99 over --changes changes
//   learning     (after the endpoints below are published) --flows flows learned across 3
//                simulated nodes (every 10th by two of them),
//                handed to each node's publisher in batches of 1,000 as the policy thread
//                does once a second: etcd writes (transactions) per learned flow, and how
//                long until every queue drained
//   start-up     a node joining a cluster of --endpoints remote endpoints (from --nodes
//                simulated publishers), 1,000 identities and the flows above: time until its
//                view has every endpoint and its model every flow, and the RSS it grew by
//
// Usage: cluster_bench [--changes N] [--endpoints N] [--nodes N] [--flows N]
// Prints one JSON object (the figures) on stdout; progress on stderr.
#include "src/cluster/cluster_agent.h"
#include "src/cluster/cluster_keys.h"
#include "tests/e2e/cluster/etcd_server.h"
#include "tests/support/temp_dir.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace flowwall;
using namespace flowwall::cluster;
using Clock = std::chrono::steady_clock;

long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

IpAddress address_of(uint32_t index) {
    // 198.18.0.0/15 holds 131072 addresses: plenty for the sizes here.
    IpAddress address;
    uint32_t value = (198u << 24) | (18u << 16) | (index + 1);
    address.bytes[0] = value >> 24;
    address.bytes[1] = (value >> 16) & 0xff;
    address.bytes[2] = (value >> 8) & 0xff;
    address.bytes[3] = value & 0xff;
    return address;
}

// A follower's view and a way to wait for it to reach a condition.
struct View {
    std::mutex mutex;
    std::condition_variable changed;
    RemoteWinners winners;

    void set(const RemoteWinners& now) {
        {
            std::lock_guard lock(mutex);
            winners = now;
        }
        changed.notify_all();
    }
    template <typename Predicate>
    bool wait(Predicate predicate, std::chrono::seconds timeout) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return predicate(winners); });
    }
};

ClusterAgent::Options agent_options(const std::string& endpoint, const std::string& node,
                                    View* view) {
    ClusterAgent::Options options;
    options.store.endpoints = {endpoint};
    options.node = node;
    options.version = "bench";
    options.started_at = std::chrono::system_clock::now();
    // Long: a publisher puts its 1,000 keys one by one, which on this loaded VM can take
    // longer than a short lease (the agent refreshes leases only between publishes).
    options.lease_ttl = std::chrono::seconds(300);
    if (view)
        options.on_remote = [view](const RemoteWinners& winners) { view->set(winners); };
    return options;
}

// The joining node's model as the daemon would take it (ClusterLink: present records).
struct ModelView {
    std::mutex mutex;
    std::condition_variable changed;
    std::map<policy::FlowKey, policy::FlowRecord> flows;
    size_t identities = 0;
    bool synced = false;
};

policy::FlowKey bench_flow(int index) {
    return {"bench/id-" + std::to_string(index % 1000),
            "bench/id-" + std::to_string((index / 1000) % 1000),
            static_cast<uint16_t>(1 + index % 60000), 6};
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[index];
}

} // namespace

int main(int argc, char** argv) {
    int changes = 200, endpoints = 10000, nodes = 10, flows = 100000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--changes") == 0)
            changes = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--endpoints") == 0)
            endpoints = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--nodes") == 0)
            nodes = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--flows") == 0)
            flows = std::atoi(argv[i + 1]);
    }
    if (changes < 1 || endpoints < 1 || nodes < 1 || endpoints > 100000 || flows < 1 ||
        flows > 1000000) {
        std::fprintf(stderr, "usage: cluster_bench [--changes N>0] [--endpoints 1..100000] "
                             "[--nodes N>0] [--flows 1..1000000]\n");
        return 2;
    }
    flowwall::testing::EtcdServer etcd;
    etcd.start();
    nlohmann::json result{
        {"changes", changes}, {"endpoints", endpoints}, {"nodes", nodes}, {"flows", flows}};
    flowwall::testing::TempDir state;

    // Propagation: A publishes one more address each time; B's view must have it.
    {
        View b_view;
        ClusterAgent a(agent_options(etcd.endpoint(), "bench-a", nullptr));
        ClusterAgent b(agent_options(etcd.endpoint(), "bench-b", &b_view));
        a.start();
        b.start();
        LocalEndpoints local;
        std::vector<double> latencies_ms;
        for (int i = 0; i < changes; ++i) {
            IpAddress address = address_of(static_cast<uint32_t>(i));
            local.emplace(address, EndpointRecord{"bench/web", "web-" + std::to_string(i)});
            auto start = Clock::now();
            a.set_local(local, true);
            if (!b_view.wait([&](const RemoteWinners& w) { return w.contains(address); },
                             std::chrono::seconds(10))) {
                std::fprintf(stderr, "change %d did not reach node B within 10 s\n", i);
                return 1;
            }
            latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        }
        result["propagation_ms"] = {{"median", percentile(latencies_ms, 0.5)},
                                    {"p99", percentile(latencies_ms, 0.99)},
                                    {"max", percentile(latencies_ms, 1.0)}};
        std::fprintf(stderr, "propagation: median %.1f ms, p99 %.1f ms\n",
                     percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99));
    }

    // Start-up: `nodes` publishers share `endpoints` addresses; then a new node joins.
    {
        std::vector<std::unique_ptr<ClusterAgent>> publishers;
        for (int n = 0; n < nodes; ++n) {
            LocalEndpoints local;
            for (int i = n; i < endpoints; i += nodes)
                local.emplace(address_of(static_cast<uint32_t>(100000 + i) % 131000),
                              EndpointRecord{"bench/id-" + std::to_string(i % 1000),
                                             "w-" + std::to_string(i)});
            auto publisher = std::make_unique<ClusterAgent>(
                agent_options(etcd.endpoint(), "pub-" + std::to_string(n), nullptr));
            publisher->set_local(std::move(local), true);
            publisher->start();
            publishers.push_back(std::move(publisher));
        }
        auto publish_start = Clock::now();
        for (;;) { // bounded by the 10 min a bench may take
            size_t published = 0;
            for (const auto& publisher : publishers)
                published += publisher->status().published;
            if (published >= static_cast<size_t>(endpoints))
                break;
            if (Clock::now() - publish_start > std::chrono::minutes(10)) {
                std::fprintf(stderr, "publishing %d endpoints took over 10 min\n", endpoints);
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        double publish_s = std::chrono::duration<double>(Clock::now() - publish_start).count();
        std::fprintf(stderr, "%d endpoints published by %d nodes in %.1f s\n", endpoints, nodes,
                     publish_s);

        // Learning: 3 nodes learn `flows` flows (every 10th on two nodes), in batches of 1,000.
        {
            std::vector<std::unique_ptr<ClusterAgent>> learners;
            for (int n = 0; n < 3; ++n) {
                auto options =
                    agent_options(etcd.endpoint(), "learner-" + std::to_string(n), nullptr);
                options.queue_file = state / ("queue-" + std::to_string(n) + ".json");
                learners.push_back(std::make_unique<ClusterAgent>(std::move(options)));
                learners.back()->start();
            }
            auto now = std::chrono::time_point_cast<std::chrono::seconds>(
                std::chrono::system_clock::now());
            auto start = Clock::now();
            std::vector<std::vector<policy::FlowRecord>> batches(3);
            std::vector<std::map<std::string, policy::TimePoint>> sightings(3);
            size_t claims = 0;
            auto flush = [&](size_t n) {
                learners[n]->publish_model(batches[n], {}, sightings[n]);
                batches[n].clear();
                sightings[n].clear();
            };
            for (int i = 0; i < flows; ++i) {
                for (int n : {i % 3, i % 10 == 0 ? (i + 1) % 3 : -1}) {
                    if (n < 0)
                        continue;
                    policy::FlowRecord record;
                    record.key = bench_flow(i);
                    record.first_seen = record.last_seen = now;
                    record.count = 1;
                    record.nodes = {"learner-" + std::to_string(n)};
                    record.workloads = {"w-" + std::to_string(i % 5000)};
                    batches[static_cast<size_t>(n)].push_back(std::move(record));
                    if (i < 1000)
                        sightings[static_cast<size_t>(n)].emplace("bench/id-" + std::to_string(i),
                                                                  now);
                    ++claims;
                    if (batches[static_cast<size_t>(n)].size() == 1000)
                        flush(static_cast<size_t>(n));
                }
            }
            for (size_t n = 0; n < 3; ++n)
                flush(n);
            uint64_t writes = 0, keys = 0;
            for (;;) {
                writes = keys = 0;
                size_t queued = 0;
                for (const auto& learner : learners) {
                    auto status = learner->status();
                    writes += status.model_writes;
                    keys += status.model_keys_published;
                    queued += status.queued;
                }
                if (queued == 0 && keys >= claims)
                    break;
                if (Clock::now() - start > std::chrono::minutes(10)) {
                    std::fprintf(stderr, "publishing %zu flow claims took over 10 min\n", claims);
                    return 1;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            double publish_s = std::chrono::duration<double>(Clock::now() - start).count();
            result["learning"] = {{"flows", flows},
                                  {"claims", claims},
                                  {"keys_published", keys},
                                  {"etcd_writes", writes},
                                  {"writes_per_flow", static_cast<double>(writes) / flows},
                                  {"publish_s", publish_s}};
            std::fprintf(stderr,
                         "learning: %d flows (%zu claims, %llu keys) in %llu etcd writes: %.4f "
                         "writes per flow, %.1f s\n",
                         flows, claims, static_cast<unsigned long long>(keys),
                         static_cast<unsigned long long>(writes),
                         static_cast<double>(writes) / flows, publish_s);
        }

        // The cluster settles (every publisher's follower has the model) before a node joins:
        // the figure is one node's start-up, not the whole cluster's catch-up.
        for (auto settle_start = Clock::now();;) {
            size_t behind = 0;
            size_t least = static_cast<size_t>(flows);
            for (const auto& publisher : publishers) {
                size_t known = publisher->status().model_flows;
                behind += known < static_cast<size_t>(flows) ? 1 : 0;
                least = std::min(least, known);
            }
            if (behind == 0) {
                std::fprintf(stderr,
                             "every publisher has the model %.1f s after it was published\n",
                             std::chrono::duration<double>(Clock::now() - settle_start).count());
                break;
            }
            static auto reported = Clock::now();
            if (Clock::now() - reported > std::chrono::seconds(10)) {
                reported = Clock::now();
                std::fprintf(stderr, "settling: the slowest publisher has %zu flows\n", least);
            }
            if (Clock::now() - settle_start > std::chrono::minutes(5)) {
                std::fprintf(stderr, "%zu publishers still lack the model after 5 min\n", behind);
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }

        long rss_before = rss_kib();
        View joiner_view;
        ModelView model;
        auto start = Clock::now();
        auto options = agent_options(etcd.endpoint(), "joiner", &joiner_view);
        options.queue_file = state / "queue-joiner.json";
        options.on_model = [&model](const std::vector<ClusterFlowChange>& changes,
                                    const std::map<std::string, policy::TimePoint>& first_seen) {
            std::lock_guard lock(model.mutex);
            for (const auto& change : changes)
                if (change.record)
                    model.flows.insert_or_assign(change.key, *change.record);
            model.identities += first_seen.size();
            model.synced = true;
            model.changed.notify_all();
        };
        ClusterAgent joiner(std::move(options));
        joiner.start();
        if (!joiner_view.wait(
                [&](const RemoteWinners& w) { return w.size() >= static_cast<size_t>(endpoints); },
                std::chrono::seconds(60))) {
            std::fprintf(stderr, "the joining node did not see every endpoint within 60 s\n");
            return 1;
        }
        {
            std::unique_lock lock(model.mutex);
            if (!model.changed.wait_for(lock, std::chrono::seconds(60), [&] {
                    return model.synced && model.flows.size() >= static_cast<size_t>(flows);
                })) {
                std::fprintf(stderr, "the joining node's model has %zu of %d flows after 60 s\n",
                             model.flows.size(), flows);
                return 1;
            }
        }
        double sync_s = std::chrono::duration<double>(Clock::now() - start).count();
        result["startup_identities"] = model.identities;
        result["startup_flows"] = model.flows.size();
        long rss_after = rss_kib();
        result["publish_s"] = publish_s;
        result["startup_sync_s"] = sync_s;
        result["startup_rss_growth_kib"] = rss_after - rss_before;
        result["rss_kib"] = rss_after;
        std::fprintf(stderr,
                     "start-up sync of %d endpoints, %zu identities, %zu flows: %.2f s, RSS +%ld "
                     "KiB\n",
                     endpoints, model.identities, model.flows.size(), sync_s,
                     rss_after - rss_before);
    }
    std::printf("%s\n", result.dump().c_str());
    return 0;
}
