// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/cluster_link.h"

#include "src/cluster/cluster_keys.h"
#include "src/common/json_time.h"

#include <fmt/format.h>

namespace flowwall::daemon {

using nlohmann::json;

std::unique_ptr<ClusterLink> ClusterLink::create(const config::DaemonConfig& config,
                                                 const std::string& node,
                                                 const std::string& version,
                                                 std::chrono::system_clock::time_point started_at,
                                                 NodeAgent& agent) {
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

json ClusterLink::status_json() const {
    auto status = agent_->status();
    return {{"store_reachable", status.store_reachable},
            {"error", status.error.empty() ? json(nullptr) : json(status.error)},
            {"last_contact", status.last_contact.time_since_epoch().count() == 0
                                 ? json(nullptr)
                                 : json(common::iso_time(status.last_contact))},
            {"nodes", status.nodes.size()},
            {"remote_endpoints", status.remote_endpoints},
            {"address_conflicts", status.conflicts},
            {"refused_values", status.refused_values},
            {"published", status.published},
            {"pending", status.pending}};
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
        "flowwall_cluster_refused_values_total {}\n",
        status.store_reachable ? 1 : 0, status.nodes.size(), status.remote_endpoints,
        status.pending, status.refused_values);
}

} // namespace flowwall::daemon
