// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/web_views.h"

#include "src/daemon/api_views.h"
#include "src/datapath/counters.h"
#include "src/web/metrics.h"

namespace flowwall::daemon {

namespace {

using nlohmann::json;

// Radar shows this many records per identity; the stream keeps the last 1000 in all.
constexpr size_t kIdentityAuditRecords = 20;

// From the settings map, not the config: what the programs actually apply.
bool datapath_fails_closed(const datapath::FirewallMaps& maps) {
    auto settings = maps.settings.lookup(0);
    return settings && (settings->flags & FW_SETTINGS_F_FAIL_CLOSED) != 0;
}

json graph_of(const WebTargets& targets) {
    return graph_view(*targets.agent.snapshot(), targets.policy.identity_views(),
                      targets.policy.flows(),
                      targets.audit.recent(audit::AuditStream::kDefaultRecent));
}

} // namespace

web::ApiReply answer_web_api(const WebTargets& targets, const std::string& name,
                             const std::map<std::string, std::string>& query) {
    if (name == "graph")
        return {200, graph_of(targets).dump()};
    if (name == "identity") {
        auto wanted = query.find("name");
        if (wanted == query.end() || wanted->second.empty())
            return {400,
                    json{{"error", "name= is missing: /api/v1/identity?name=<identity>"}}.dump()};
        const std::string& identity = wanted->second;
        json graph = graph_of(targets);
        json node = nullptr;
        for (const auto& candidate : graph["nodes"])
            if (candidate["id"] == identity)
                node = candidate;
        if (node.is_null())
            return {404, json{{"error", identity + " is not on the graph"}}.dump()};
        json workloads = json::array();
        for (const auto& endpoint : endpoints_view(*targets.agent.snapshot()))
            if (endpoint["identity"] == identity)
                workloads.push_back(endpoint);
        // Newest first: the page lists what just happened at the top.
        json audit = json::array();
        auto records = targets.audit.recent(audit::AuditStream::kDefaultRecent);
        for (auto it = records.rbegin();
             it != records.rend() && audit.size() < kIdentityAuditRecords; ++it)
            if (it->src == identity || it->dst == identity)
                audit.push_back(audit::to_json(*it));
        return {200, json{{"node", node}, {"workloads", workloads}, {"audit", audit}}.dump()};
    }
    return {404, json{{"error",
                       "/api/v1/" + name + " is not part of Radar's API: graph, identity?name="}}
                     .dump()};
}

std::string gather_metrics(WebTargets& targets) {
    web::MetricsInput input;
    auto counters = datapath::read_all_counters(targets.maps.stats);
    for (uint32_t reason = 0; reason < FW_REASON_MAX; ++reason) {
        if (datapath::counter_in_use(reason))
            input.reasons.push_back({datapath::counter_name(reason), fw_reason_is_drop(reason) != 0,
                                     counters[reason].packets});
    }
    input.datapath = {.connections_blocked = counters[FW_REASON_BLOCKED].packets,
                      .connections_alerted = counters[FW_REASON_ALERT].packets,
                      .connections_learned = counters[FW_REASON_LEARNED].packets,
                      .events_sent = counters[FW_CTR_EVENTS_SENT].packets,
                      .events_lost = counters[FW_CTR_EVENTS_LOST].packets,
                      .events_suppressed = counters[FW_CTR_EVENTS_SUPPRESSED].packets,
                      .policy_full = counters[FW_CTR_POLICY_FULL].packets,
                      .conntrack_full = counters[FW_CTR_CT_FULL].packets};
    auto snapshot = targets.agent.snapshot();
    input.maps.push_back({FW_MAP_IPCACHE, snapshot->ipcache_entries, snapshot->ipcache_capacity});
    input.maps.push_back(
        {FW_MAP_POLICY, targets.maps.policy.count(), targets.maps.policy.max_entries()});
    input.maps.push_back(
        {FW_MAP_MODES, snapshot->identities.size(), targets.maps.modes.max_entries()});
    // Counted every 10 s by the watch, not on every scrape.
    auto [ct4, ct6] = targets.capacity.conntrack_entries();
    input.maps.push_back({FW_MAP_CT4, ct4, targets.maps.conntrack4.max_entries()});
    input.maps.push_back({FW_MAP_CT6, ct6, targets.maps.conntrack6.max_entries()});
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
    input.fail_closed = datapath_fails_closed(targets.maps);
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
    if (!snapshot->interface_error.empty())
        reasons += "interface map: " + snapshot->interface_error + "\n";
    std::string fail_mode =
        std::string("fail mode: ") + (datapath_fails_closed(targets.maps) ? "closed" : "open");
    if (reasons.empty())
        return {true, "ok: datapath loaded, every source in sync\n" + fail_mode};
    return {false, reasons + fail_mode};
}

} // namespace flowwall::daemon
