// SPDX-License-Identifier: Apache-2.0
// The JSON documents of the control API (docs/api.md), built from a NodeSnapshot. The CLI
// prints them as they are for --json, so their shape is a contract: add fields, never
// rename or remove one within an API version.
#pragma once

#include "src/audit/audit_record.h"
#include "src/daemon/node_agent.h"
#include "src/enforcement/firewall_policy.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace flowwall::daemon {

inline constexpr int kApiVersion = 1;

// What does not change while the daemon runs.
struct DaemonInfo {
    std::string version;
    std::string node; // host name
    std::chrono::system_clock::time_point started_at;
    std::string pin_dir;
    std::string attach_mode; // "tcx" or "clsact": what this kernel gets
    uint8_t default_mode = 0;
    std::string fail_mode = "open"; // "open" or "closed" (--fail-mode)
    struct Program {
        std::string name;
        uint32_t id = 0;
    };
    std::vector<Program> programs;
    std::string web_address; // "127.0.0.1:9190" as bound; empty: no web endpoint
};

nlohmann::json status_view(const DaemonInfo& info, const NodeSnapshot& snapshot);
nlohmann::json endpoints_view(const NodeSnapshot& snapshot);
// With each identity's learning state and mode (null for identities this node has not seen
// run, e.g. names that came with an imported model).
nlohmann::json
identities_view(const NodeSnapshot& snapshot,
                const std::map<std::string, enforcement::IdentityPolicyView>& policy);

// The flow graph Radar and `flowwall radar` draw: identities as nodes (kind workload, world,
// host; mode and learning progress), flows as edges labelled port/protocol with what happens
// to them: "learned" (in the model), "alerted" or "blocked" (recent audit records, so
// attempted lateral movement shows).
nlohmann::json graph_view(const NodeSnapshot& snapshot,
                          const std::map<std::string, enforcement::IdentityPolicyView>& policy,
                          const std::vector<policy::FlowRecord>& flows,
                          const std::vector<audit::AuditRecord>& records);

// Per identity: mode, learning time left, time since its last new flow, flows (status).
nlohmann::json learning_view(const std::map<std::string, enforcement::IdentityPolicyView>& policy);

} // namespace flowwall::daemon
