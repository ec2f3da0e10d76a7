// SPDX-License-Identifier: Apache-2.0
// What the read-only web endpoint serves, gathered from the daemon's parts when asked:
// the metrics (the per-CPU counters are read at scrape time) and the health report.
#pragma once

#include "src/daemon/event_pump.h"
#include "src/daemon/firewall_policy.h"
#include "src/daemon/node_agent.h"
#include "src/datapath/firewall_object.h"
#include "src/web/web_server.h"

#include <chrono>

namespace flowwall::daemon {

struct WebTargets {
    const datapath::FirewallMaps& maps;
    const NodeAgent& agent;
    FirewallPolicy& policy;
    const EventPump& events;
    std::chrono::steady_clock::time_point started;
};

std::string gather_metrics(WebTargets& targets);
// 200 only when the datapath is loaded (it is, while the daemon runs) and every source is in
// sync; otherwise one line per reason.
web::HealthReport gather_health(const WebTargets& targets);

} // namespace flowwall::daemon
