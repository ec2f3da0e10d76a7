// SPDX-License-Identifier: Apache-2.0
// What the read-only web endpoint serves, gathered from the daemon's parts when asked:
// Radar's JSON, the metrics (the per-CPU counters are read at scrape time) and the health
// report.
#pragma once

#include "src/audit/audit_stream.h"
#include "src/daemon/capacity_watch.h"
#include "src/daemon/node_agent.h"
#include "src/datapath/firewall_object.h"
#include "src/enforcement/event_pump.h"
#include "src/enforcement/firewall_policy.h"
#include "src/web/web_server.h"

#include <chrono>
#include <map>
#include <string>

namespace flowwall::daemon {

struct WebTargets {
    const datapath::FirewallMaps& maps;
    const NodeAgent& agent;
    enforcement::FirewallPolicy& policy;
    const enforcement::EventPump& events;
    const audit::AuditStream& audit;
    std::chrono::steady_clock::time_point started;
    const CapacityWatch& capacity; // conntrack fill (sampled)
};

// GET /api/v1/<name> for the Radar page (docs/api.md, "Radar's JSON"):
//   graph                  the graph of `flowwall radar` (graph_view)
//   identity?name=<name>   one identity: its node, workloads and recent audit records
web::ApiReply answer_web_api(const WebTargets& targets, const std::string& name,
                             const std::map<std::string, std::string>& query);

std::string gather_metrics(WebTargets& targets);
// 200 only when the datapath is loaded (it is, while the daemon runs) and every source is in
// sync; otherwise one line per reason.
web::HealthReport gather_health(const WebTargets& targets);

} // namespace flowwall::daemon
