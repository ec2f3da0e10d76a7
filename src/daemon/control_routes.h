// SPDX-License-Identifier: Apache-2.0
// The control API's routes (docs/api.md): which document or action each path is.
#pragma once

#include "src/daemon/cluster_link.h"

#include "src/api/http_message.h"
#include "src/audit/audit_stream.h"
#include "src/daemon/api_views.h"
#include "src/daemon/capacity_watch.h"
#include "src/daemon/node_agent.h"
#include "src/daemon/outside_networks.h"
#include "src/enforcement/event_pump.h"
#include "src/enforcement/firewall_policy.h"

namespace flowwall::daemon {

struct ControlTargets {
    const DaemonInfo& info;
    const NodeAgent& agent;
    enforcement::FirewallPolicy& policy;
    audit::AuditStream& audit_stream;
    const enforcement::EventPump* events = nullptr; // for counters in status; may be null
    const CapacityWatch& capacity;                  // what the maps could not hold
    const ClusterLink* cluster = nullptr;           // --cluster-store; null: alone
    OutsideNetworks* outside = nullptr;             // deny lists, uplinks, CIDR entities
};

// Thread-safe: called on the API server's connection threads.
api::HttpResponse route_control_request(const api::HttpRequest& request, ControlTargets& targets);

} // namespace flowwall::daemon
