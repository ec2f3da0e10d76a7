// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/cluster_link.h"

#include "src/cluster/cluster_keys.h"
#include "src/common/json_time.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace flowwall::daemon {

using nlohmann::json;

std::unique_ptr<ClusterLink>
ClusterLink::create(const config::DaemonConfig& config, const std::string& node,
                    const std::string& version, std::chrono::system_clock::time_point started_at,
                    NodeAgent& agent, enforcement::FirewallPolicy& policy) {
    if (config.cluster_store.empty())
        return nullptr;
    if (auto valid = cluster::validate_node_name(node); !valid)
        throw FatalError(Error{EINVAL, "--node-name: " + valid.error().message +
                                           "; in a cluster each node needs a name that is a "
                                           "valid key part (give one with --node-name)"});
    cluster::ClusterAgent::Options options;
    options.store.endpoints = cluster::parse_store_url(config.cluster_store).value_or_throw();
    options.store.ca_file = config.etcd_cacert.string();
    options.store.cert_file = config.etcd_cert.string();
    options.store.key_file = config.etcd_key.string();
    // Checks the TLS settings and files now, so a typo fails start-up, not the first call.
    cluster::EtcdClient::connect(options.store).value_or_throw();
    options.node = node;
    options.version = version;
    options.started_at = started_at;
    options.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.cluster_lease_ttl);
    options.on_remote = [&agent](const cluster::RemoteWinners& winners) {
        RemoteWorkloads remote;
        for (const auto& [address, winner] : winners)
            remote.emplace(address, RemoteWorkload{winner.record.identity, winner.record.workload,
                                                   winner.node});
        agent.set_remote(std::move(remote));
    };
    options.queue_file = config.state_dir / cluster::kPublishQueueFile;
    options.on_model = [&policy](const std::vector<cluster::ClusterFlowChange>& changes,
                                 const std::map<std::string, policy::TimePoint>& first_seen) {
        std::vector<policy::FlowRecord> present;
        std::vector<policy::FlowKey> removed;
        for (const auto& change : changes) {
            if (change.record)
                present.push_back(*change.record);
            else if (change.removed)
                removed.push_back(change.key);
        }
        policy.apply_cluster(present, removed, first_seen);
    };
    return std::unique_ptr<ClusterLink>(
        new ClusterLink(std::make_unique<cluster::ClusterAgent>(std::move(options))));
}

void ClusterLink::local_changed(const NodeSnapshot& snapshot) {
    cluster::LocalEndpoints local;
    for (const auto& view : snapshot.endpoints)
        for (const auto& address : view.workload.addresses) {
            // Only the address's owner (two local claims: the later start wins locally).
            auto owner = snapshot.workload_names.find(address);
            if (owner == snapshot.workload_names.end() || owner->second != view.workload.name)
                continue;
            if (!cluster::validate_workload_address(address))
                continue; // a loopback or link-local workload address means nothing elsewhere
            local.insert_or_assign(
                address, cluster::EndpointRecord{view.workload.identity, view.workload.name});
        }
    bool healthy = snapshot.all_sources_synced && snapshot.ipcache_error.empty();
    agent_->set_local(std::move(local), healthy);
}

void ClusterLink::exchange_model(enforcement::FirewallPolicy& policy) {
    if (agent_->take_republish_request()) {
        auto whole = policy.whole_model();
        spdlog::info("cluster: publishing this node's model ({} flows, {} identities)",
                     whole.flows.size(), whole.identities.size());
        agent_->publish_model(whole.flows, whole.removed, whole.identities);
    }
    auto outbox = policy.take_outbox();
    if (!outbox.empty())
        agent_->publish_model(outbox.flows, outbox.removed, outbox.identities);
}

json ClusterLink::status_json() const {
    auto status = agent_->status();
    return {
        {"store_reachable", status.store_reachable},
        {"error", status.error.empty() ? json(nullptr) : json(status.error)},
        {"last_contact", status.last_contact.time_since_epoch().count() == 0
                             ? json(nullptr)
                             : json(common::iso_time(status.last_contact))},
        {"nodes", status.nodes.size()},
        {"remote_endpoints", status.remote_endpoints},
        {"address_conflicts", status.conflicts},
        {"refused_values", status.refused_values},
        {"published", status.published},
        {"pending", status.pending},
        {"model",
         {{"flows", status.model_flows},
          {"synced", status.model_synced},
          {"queued", status.queued},
          {"queue_max", status.queue_max},
          {"queue_dropped", status.queue_dropped},
          {"queue_error", status.queue_error.empty() ? json(nullptr) : json(status.queue_error)},
          {"writes", status.model_writes},
          {"keys_published", status.model_keys_published}}}};
}

json ClusterLink::nodes_json() const {
    auto status = agent_->status();
    json nodes = json::array();
    for (const auto& node : status.nodes)
        nodes.push_back({{"name", node.record.name},
                         {"self", node.self},
                         {"version", node.record.version},
                         {"health", node.record.health},
                         {"started_at", common::iso_time(std::chrono::system_clock::time_point(
                                            std::chrono::seconds(node.record.started_at)))},
                         {"workloads", node.record.workloads},
                         {"endpoints", node.endpoints}});
    return {{"store_reachable", status.store_reachable}, {"nodes", nodes}};
}

std::optional<std::string> ClusterLink::problem() const {
    auto status = agent_->status();
    if (status.store_reachable)
        return std::nullopt;
    if (status.queued > 0)
        return fmt::format("cluster store unreachable (enforcing with what this node has; {} "
                           "model changes queued): {}",
                           status.queued,
                           status.error.empty() ? std::string("not contacted yet") : status.error);
    return "cluster store unreachable (enforcing with what this node has): " +
           (status.error.empty() ? std::string("not contacted yet") : status.error);
}

std::string ClusterLink::metrics_text() const {
    auto status = agent_->status();
    return fmt::format(
        "# HELP flowwall_cluster_store_up 1 when the cluster store (etcd) answered the last call\n"
        "# TYPE flowwall_cluster_store_up gauge\n"
        "flowwall_cluster_store_up {}\n"
        "# HELP flowwall_cluster_nodes Nodes with a record in the cluster store\n"
        "# TYPE flowwall_cluster_nodes gauge\n"
        "flowwall_cluster_nodes {}\n"
        "# HELP flowwall_cluster_remote_endpoints Other nodes' addresses in this node's ipcache\n"
        "# TYPE flowwall_cluster_remote_endpoints gauge\n"
        "flowwall_cluster_remote_endpoints {}\n"
        "# HELP flowwall_cluster_publish_pending Local address changes not yet in the store\n"
        "# TYPE flowwall_cluster_publish_pending gauge\n"
        "flowwall_cluster_publish_pending {}\n"
        "# HELP flowwall_cluster_refused_values_total Store entries refused as hostile or broken\n"
        "# TYPE flowwall_cluster_refused_values_total counter\n"
        "flowwall_cluster_refused_values_total {}\n"
        "# HELP flowwall_cluster_model_queue Model changes of this node waiting to be published\n"
        "# TYPE flowwall_cluster_model_queue gauge\n"
        "flowwall_cluster_model_queue {}\n"
        "# HELP flowwall_cluster_model_queue_dropped_total Model changes refused by a full queue "
        "(republished once it drains)\n"
        "# TYPE flowwall_cluster_model_queue_dropped_total counter\n"
        "flowwall_cluster_model_queue_dropped_total {}\n"
        "# HELP flowwall_cluster_model_writes_total Store transactions that published model keys\n"
        "# TYPE flowwall_cluster_model_writes_total counter\n"
        "flowwall_cluster_model_writes_total {}\n"
        "# HELP flowwall_cluster_model_flows Flows in the cluster's model as merged here\n"
        "# TYPE flowwall_cluster_model_flows gauge\n"
        "flowwall_cluster_model_flows {}\n",
        status.store_reachable ? 1 : 0, status.nodes.size(), status.remote_endpoints,
        status.pending, status.refused_values, status.queued, status.queue_dropped,
        status.model_writes, status.model_flows);
}

} // namespace flowwall::daemon
