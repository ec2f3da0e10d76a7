// SPDX-License-Identifier: Apache-2.0
// flowwalld's side of the cluster (--cluster-store): hands the node agent's local workload
// addresses to the cluster agent and the cluster's winning remote claims back to the node
// agent, and describes the cluster for `status`, `flowwall nodes`, /healthz and /metrics.
// Without --cluster-store nothing of this exists and the node runs alone, as before.
#pragma once

#include "src/cluster/cluster_agent.h"
#include "src/config/daemon_config.h"
#include "src/daemon/node_agent.h"
#include "src/enforcement/firewall_policy.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace flowwall::daemon {

class ClusterLink {
public:
    // Null when config has no cluster store. Throws (FatalError) for a configuration that
    // cannot work: a node name that is not a valid cluster node name, half the TLS files.
    static std::unique_ptr<ClusterLink> create(const config::DaemonConfig& config,
                                               const std::string& node, const std::string& version,
                                               std::chrono::system_clock::time_point started_at,
                                               NodeAgent& agent,
                                               enforcement::FirewallPolicy& policy);

    void start() { agent_->start(); }
    // Before the node agent starts: waits (at most `timeout`) for the cluster's model, so a
    // node that joins after learning enforces it from its first workload on.
    bool wait_model_synced(std::chrono::milliseconds timeout) {
        return agent_->wait_model_synced(timeout);
    }
    // The policy thread, once a second: hands what the model learned here to the publisher.
    void exchange_model(enforcement::FirewallPolicy& policy);
    // After each reconcile of the node agent (its thread).
    void local_changed(const NodeSnapshot& snapshot);

    cluster::ClusterStatus status() const { return agent_->status(); }
    nlohmann::json status_json() const;
    nlohmann::json nodes_json() const;
    // Why the node is not healthy as a member of the cluster; nullopt when it is.
    std::optional<std::string> problem() const;
    // Prometheus text lines (HELP, TYPE, samples) of the cluster's metrics.
    std::string metrics_text() const;

private:
    explicit ClusterLink(std::unique_ptr<cluster::ClusterAgent> agent) : agent_(std::move(agent)) {}
    std::unique_ptr<cluster::ClusterAgent> agent_;
};

} // namespace flowwall::daemon
