// SPDX-License-Identifier: Apache-2.0
// Everything flowwalld knows about networks outside its workloads, assembled: the XDP
// prefilter on the uplinks, the deny and allow lists (src/denylist) in the kernel's deny
// tables (datapath DenySets, shared by the prefilter and the TC programs), the protected
// addresses that always win, and the CIDR entities (names for outside prefixes, identities
// in fw_cidr_v1).
#pragma once

#include "src/config/daemon_config.h"
#include "src/daemon/deny_routes.h"
#include "src/daemon/kernel_deny_lists.h"
#include "src/daemon/node_agent.h"
#include "src/daemon/uplinks.h"
#include "src/datapath/cidr_entities.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/prefilter_object.h"
#include "src/denylist/cidr_entities.h"
#include "src/denylist/deny_lists.h"
#include "src/identity/identity_registry.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

namespace flowwall::daemon {

class OutsideNetworks {
public:
    // Loads the prefilter (pinned beside the firewall's maps), restores the lists and the
    // entities of the state dir into the kernel, attaches the uplinks. An Error stops
    // start-up (an unreadable state file, a prefilter that does not load).
    static Result<std::unique_ptr<OutsideNetworks>> start(const config::DaemonConfig& config,
                                                          datapath::FirewallMaps& maps,
                                                          identity::IdentityRegistry& registry);
    ~OutsideNetworks();

    DenyTargets deny_targets();
    // The node agent published: workload addresses (local and remote) always win.
    void workloads_changed(const NodeSnapshot& snapshot);
    std::vector<std::string> entity_names() const;

    nlohmann::json status_view() const; // "outside" in `flowwall status`
    std::vector<std::string> problems() const;
    std::string metrics_text() const;

    // Feed refreshes, until stop.
    void run(std::stop_token stop);

private:
    OutsideNetworks(identity::IdentityRegistry& registry, datapath::FirewallMaps& maps);
    void sync_entities(const denylist::EntityPrefixes& entities);

    identity::IdentityRegistry& registry_;
    std::unique_ptr<datapath::PrefilterObject> prefilter_;
    std::unique_ptr<datapath::DenySets> sets_;
    std::unique_ptr<KernelDenyLists> kernel_;
    std::unique_ptr<denylist::DenyLists> lists_;
    std::unique_ptr<Uplinks> uplinks_;
    std::unique_ptr<denylist::CidrEntities> entities_;
    datapath::CidrEntities entity_map_;
    mutable std::mutex entity_mutex_;
    std::string entity_error_;
};

} // namespace flowwall::daemon
