// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/daemon.h"

#include "src/api/unix_http_server.h"
#include "src/daemon/api_views.h"
#include "src/daemon/capabilities.h"
#include "src/daemon/capacity_watch.h"
#include "src/daemon/cleanup.h"
#include "src/daemon/cluster_link.h"
#include "src/daemon/control_routes.h"
#include "src/daemon/interface_guards.h"
#include "src/daemon/ipcache_sync.h"
#include "src/daemon/node_agent.h"
#include "src/daemon/outside_networks.h"
#include "src/daemon/web_views.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/counters.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/kernel_features.h"
#include "src/datapath/libbpf_log.h"
#include "src/datapath/object_loading.h"
#include "src/enforcement/event_pump.h"
#include "src/enforcement/firewall_policy.h"
#include "src/identity/cri/cri_source.h"
#include "src/identity/docker/docker_source.h"
#include "src/identity/identity_registry.h"
#include "src/identity/static/endpoints_file_source.h"

#include <bpf/bpf.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace flowwall::daemon {

namespace {

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0)
        return "unknown";
    return name;
}

// SIGTERM/SIGINT are taken with sigwait() on the main thread; blocked before any thread
// starts so that no other thread receives them.
sigset_t stop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    return signals;
}

enforcement::PolicyOptions policy_options(const config::DaemonConfig& config,
                                          const std::string& node) {
    enforcement::PolicyOptions options;
    options.state_dir = config.state_dir;
    options.learning.period = config.learning_period;
    options.learning.quiet = config.learning_quiet;
    options.learning.period_overrides = config.learning_period_overrides;
    options.learning.after = config.after_learning;
    options.node = node;
    return options;
}

// The workload names of the agent's latest snapshot, kept alive by the snapshot itself.
std::shared_ptr<const enforcement::WorkloadNames> workload_names(const NodeAgent& agent) {
    auto snapshot = agent.snapshot();
    if (!snapshot)
        return nullptr;
    return {snapshot, &snapshot->workload_names};
}

std::vector<std::unique_ptr<identity::WorkloadSource>>
make_sources(const config::DaemonConfig& config) {
    std::vector<std::unique_ptr<identity::WorkloadSource>> sources;
    if (config.docker) {
        identity::docker::DockerSource::Options options;
        options.socket_path = config.docker_socket.string();
        options.naming = config.identity_from;
        options.resync_interval = config.resync_interval;
        sources.push_back(std::make_unique<identity::docker::DockerSource>(options));
    }
    if (config.cri) {
        identity::cri::CriSource::Options options;
        options.socket_path = config.cri_socket.string(); // empty: found at start
        options.naming = config.pod_identity_from;
        options.resync_interval = config.resync_interval;
        sources.push_back(std::make_unique<identity::cri::CriSource>(options));
    }
    if (!config.endpoints_file.empty())
        sources.push_back(std::make_unique<identity::EndpointsFileSource>(config.endpoints_file));
    return sources;
}

} // namespace

int run_daemon(const config::DaemonConfig& config) {
    sigset_t signals = stop_signals();
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    datapath::route_libbpf_logs_to_spdlog();

    datapath::check_privileges().value_or_throw();
    auto features = datapath::probe_kernel_features();
    datapath::require_datapath_features(features).value_or_throw();
    if (auto shared = datapath::check_bpffs_is_hosts(config.bpffs_dir); !shared) {
        if (!config.allow_private_bpffs)
            throw FatalError(shared.error());
        spdlog::warn("{} (--allow-private-bpffs: starting anyway)", shared.error().message);
    }
    datapath::ensure_bpffs_dir(config.bpffs_dir).value_or_throw();
    auto links_dir = config.bpffs_dir / "links";
    datapath::ensure_bpffs_dir(links_dir).value_or_throw();

    datapath::FirewallOptions options;
    options.pin_dir = config.bpffs_dir;
    options.capacities = config.capacities;
    options.conntrack_timeout = config.conntrack_timeout;
    options.event_dedup_interval = config.event_dedup_interval;
    auto firewall = datapath::FirewallObject::load(options).value_or_throw();
    auto& maps = firewall->maps();
    maps.settings
        .update(0, fw_settings{.default_mode = config.default_mode,
                               .flags = config::settings_flags(config)})
        .value_or_throw();

    auto registry =
        identity::IdentityRegistry::open(config.state_dir, config.capacities.mode_entries)
            .value_or_throw();

    std::string node = config.node_name.empty() ? host_name() : config.node_name;
    auto options_of_policy = policy_options(config, node);
    options_of_policy.events_lost = [stats = maps.stats] {
        return datapath::read_counter(stats, FW_CTR_EVENTS_LOST).packets;
    };
    auto policy =
        enforcement::FirewallPolicy::open(options_of_policy, registry, {maps.policy, maps.modes})
            .value_or_throw();
    audit::AuditStream audit_stream;
    std::unique_ptr<audit::AuditLog> audit_log;
    if (auto opened = audit::AuditLog::open(config.audit_log, config.audit_log_max_bytes); opened)
        audit_log = std::move(opened.value());
    else
        spdlog::error("audit log: {}; alerts and blocks go to the live stream only",
                      opened.error().to_string());

    int from_fd = firewall->program_fd(datapath::FirewallProgram::from_workload);
    int to_fd = firewall->program_fd(datapath::FirewallProgram::to_workload);
    auto guards = std::make_unique<InterfaceGuards>(links_dir, from_fd, to_fd, config.attach_mode,
                                                    config.bpffs_dir / "filters");

    auto sources = make_sources(config);
    std::vector<std::string> source_names;
    for (const auto& source : sources)
        source_names.push_back(source->name());
    std::unique_ptr<ClusterLink> cluster; // set before the agent's thread starts
    // Deny lists, the uplinks' XDP prefilter and CIDR entities (docs/deny-lists.md).
    auto outside = OutsideNetworks::start(config, maps, registry).value_or_throw();
    NodeAgent::Options agent_options;
    agent_options.on_published = [&policy, &cluster, &outside](const NodeSnapshot& snapshot) {
        if (cluster)
            cluster->local_changed(snapshot);
        outside->workloads_changed(snapshot);
        // CIDR entities get a learning window and a mode like identities (left in the
        // default mode, learn, they would let every local workload reach them for ever).
        std::vector<std::string> identities = outside->entity_names();
        for (const auto& [name, count] : snapshot.workloads_per_identity)
            identities.push_back(name);
        // Other nodes' identities get a learning window and a mode here too: left without
        // one they would have the default mode (learn) on this node for ever, and "either
        // end learns" would let any local workload reach them. The window starts when the
        // cluster first saw the identity (FirewallPolicy::apply_cluster), so it ends on every
        // node at once.
        for (const auto& [address, remote] : snapshot.remote)
            if (std::find(identities.begin(), identities.end(), remote.identity) ==
                identities.end())
                identities.push_back(remote.identity);
        policy->observe(identities);
    };
    NodeAgent agent(registry, IpcacheSync(maps.ipcache), InterfaceMapSync(maps.ifaces), *guards,
                    source_names, agent_options);
    auto pump = enforcement::EventPump::open(maps.events_fd,
                                             {registry, *policy, audit_log.get(), audit_stream,
                                              [&agent] { return workload_names(agent); }, node})
                    .value_or_throw();

    DaemonInfo info;
    info.version = FLOWWALL_VERSION;
    info.node = node;
    info.started_at = std::chrono::system_clock::now();
    cluster = ClusterLink::create(config, node, info.version, info.started_at, agent, *policy);
    info.pin_dir = config.bpffs_dir.string();
    bool tcx = config.attach_mode == datapath::TcAttachMode::tcx ||
               (config.attach_mode == datapath::TcAttachMode::automatic && features.tcx);
    info.attach_mode = tcx ? "tcx" : "clsact";
    info.default_mode = config.default_mode;
    info.fail_mode = config::fail_mode_name(config.fail_mode);
    info.programs = {{"from_workload", datapath::program_id(from_fd)},
                     {"to_workload", datapath::program_id(to_fd)}};

    // Loaded, pinned, files open; no thread yet (each thread has its own capabilities).
    drop_unneeded_capabilities();
    CapacityWatch capacity(maps, CapacityLimits{config.capacities.policy_entries,
                                                config.capacities.conntrack_entries,
                                                config.capacities.event_buffer_bytes});
    ControlTargets targets{info,       agent,    *policy,       audit_stream,
                           pump.get(), capacity, cluster.get(), outside.get()};
    auto server =
        api::UnixHttpServer::start(config.socket, [&targets](const api::HttpRequest& request) {
            return route_control_request(request, targets);
        }).value_or_throw();

    WebTargets web_targets{
        maps, agent, *policy, *pump, audit_stream, std::chrono::steady_clock::now(), capacity};
    std::unique_ptr<web::WebServer> web_server;
    if (!config.web_listen.empty()) {
        web::WebRoutes routes;
        routes.metrics = [&web_targets, &cluster, &outside] {
            return gather_metrics(web_targets) + (cluster ? cluster->metrics_text() : "") +
                   outside->metrics_text();
        };
        routes.health = [&web_targets, &cluster, &outside] {
            auto health = gather_health(web_targets);
            // Degraded too: a feed that keeps its last good version still protects.
            for (const auto& problem : outside->problems())
                health.text = "degraded: " + problem + "\n" + health.text;
            // Degraded, not unhealthy: the node enforces on without the store, and a
            // liveness probe must not restart every node of a cluster when etcd is away.
            if (auto problem = cluster ? cluster->problem() : std::nullopt)
                health.text = "degraded: " + *problem + "\n" + health.text;
            return health;
        };
        routes.api = [&web_targets](const std::string& name, const auto& query) {
            return answer_web_api(web_targets, name, query);
        };
        web_server = web::WebServer::start(config.web_listen, std::move(routes)).value_or_throw();
        info.web_address = web_server->address();
    }

    if (cluster) {
        cluster->start();
        // The cluster's model and learning windows before the first workload is observed:
        // a node that joins after learning must not learn what the others block. Bounded:
        // with the store away the node starts on what it has.
        if (!cluster->wait_model_synced(std::chrono::seconds(5)))
            spdlog::warn("cluster: the store's model is not here after 5 s; starting with "
                         "this node's own, the cluster's follows when the store answers");
    }
    std::jthread agent_thread([&](std::stop_token stop) { agent.run(stop); });
    std::jthread pump_thread([&](std::stop_token stop) { pump->run(stop); });
    std::jthread outside_thread([&](std::stop_token stop) { outside->run(stop); });
    std::jthread policy_thread([&](std::stop_token stop) {
        // Nothing notifies `tick`: it only wakes for a stop request, after a second, or
        // when a learning window ends.
        std::mutex mutex;
        std::condition_variable_any tick;
        std::unique_lock lock(mutex);
        while (!stop.stop_requested()) {
            policy->tick();
            if (cluster)
                cluster->exchange_model(*policy);
            capacity.check();
            // Once a second, or when a learning window ends if that is sooner (plus a
            // millisecond: tick() ends a window at now >= its end).
            auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::seconds(1));
            if (auto deadline = policy->next_deadline()) {
                auto until =
                    *deadline - std::chrono::system_clock::now() + std::chrono::milliseconds(1);
                // A deadline already past (a clock step) waits the second: no busy loop.
                if (until > std::chrono::milliseconds(0) && until < wait)
                    wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(until);
            }
            tick.wait_for(lock, stop, wait, [] { return false; });
        }
    });
    std::vector<std::jthread> source_threads;
    for (auto& source : sources)
        source_threads.emplace_back(
            [&agent, &source](std::stop_token stop) { source->run(agent, stop); });

    spdlog::info("flowwalld {} running on node {}: control socket {}, pins in {}, {} attachment, "
                 "sources: {}",
                 info.version, node, config.socket.string(), info.pin_dir, info.attach_mode,
                 source_names.empty() ? std::string("none")
                                      : fmt::format("{}", fmt::join(source_names, ", ")));

    int signal = 0;
    ::sigwait(&signals, &signal);
    spdlog::info("{}: stopping; the programs stay attached and pinned (flowwalld --cleanup "
                 "removes them)",
                 ::strsignal(signal));
    for (auto& thread : source_threads)
        thread.request_stop();
    source_threads.clear();
    agent_thread.request_stop();
    agent_thread.join();
    audit_stream.close(); // ends `events --follow` streams so the server can stop
    server.reset();
    web_server.reset();
    outside_thread.request_stop(); // a download in progress ends within a moment
    outside_thread.join();
    pump_thread.request_stop();
    pump_thread.join();
    policy_thread.request_stop();
    policy_thread.join();
    if (cluster) // the last changes into the queue file: the next start publishes them
        cluster->exchange_model(*policy);
    // After everything that reads it. Its leases expire on their own: the other nodes drop
    // this node's addresses one lease TTL later (a restart within the TTL publishes again).
    cluster.reset();
    policy->save();
    guards->keep_all_on_exit();
    guards.reset();
    return 0;
}

int run_cleanup(const config::DaemonConfig& config) {
    datapath::route_libbpf_logs_to_spdlog();
    if (auto privileged = datapath::check_privileges(); !privileged) {
        spdlog::error("{}", privileged.error().to_string());
        return 1;
    }
    CleanupReport report = cleanup_node(config);
    spdlog::info("cleanup: {} links detached (tcx and XDP), {} tc filters removed, pins {}",
                 report.links_detached, report.filters_removed,
                 report.pins_removed ? "removed" : "not present");
    for (const auto& problem : report.problems)
        spdlog::error("cleanup: {}", problem);
    return report.problems.empty() ? 0 : 1;
}

} // namespace flowwall::daemon
