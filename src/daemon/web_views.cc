// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/web_views.h"

#include "src/datapath/counters.h"
#include "src/web/metrics.h"

namespace flowwall::daemon {

std::string gather_metrics(WebTargets& targets) {
    web::MetricsInput input;
    input.counters = datapath::read_all_counters(targets.maps.stats);
    auto snapshot = targets.agent.snapshot();
    input.maps.push_back({FW_MAP_IPCACHE, snapshot->ipcache_entries, snapshot->ipcache_capacity});
    input.maps.push_back(
        {FW_MAP_POLICY, targets.maps.policy.count(), targets.maps.policy.max_entries()});
    input.maps.push_back(
        {FW_MAP_MODES, snapshot->identities.size(), targets.maps.modes.max_entries()});
    for (const auto& source : snapshot->sources)
        input.sources.push_back({source.name, source.health.state == identity::SourceState::synced,
                                 source.health.state != identity::SourceState::unavailable,
                                 source.health.errors});
    for (const auto& [name, view] : targets.policy.identity_views()) {
        web::IdentityMetrics identity{name, view.mode, std::nullopt, view.flows};
        if (view.learning_remaining)
            identity.learning_remaining_seconds =
                std::chrono::duration<double>(*view.learning_remaining).count();
        input.identities.push_back(identity);
    }
    input.workloads = snapshot->endpoints.size();
    input.model_flows = targets.policy.flow_count();
    input.interfaces_guarded = snapshot->guards_attached;
    input.interfaces_failed = snapshot->guards_failed;
    input.events_received = targets.events.events();
    input.audit_records = {{"alert", targets.events.alerts()}, {"block", targets.events.blocks()}};
    input.uptime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - targets.started).count();
    return web::render_metrics(input);
}

web::HealthReport gather_health(const WebTargets& targets) {
    auto snapshot = targets.agent.snapshot();
    std::string reasons;
    for (const auto& source : snapshot->sources) {
        if (source.health.state == identity::SourceState::synced)
            continue;
        reasons += "source " + source.name + " is " + identity::to_string(source.health.state) +
                   (source.health.message.empty() ? "" : ": " + source.health.message) + "\n";
    }
    if (!snapshot->ipcache_error.empty())
        reasons += "ipcache: " + snapshot->ipcache_error + "\n";
    if (reasons.empty())
        return {true, "ok: datapath loaded, every source in sync"};
    reasons.pop_back();
    return {false, reasons};
}

} // namespace flowwall::daemon
