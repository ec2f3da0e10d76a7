// SPDX-License-Identifier: Apache-2.0
// Where a workload's packets are judged. A workload interface is guarded on its host-side
// veth peer when that peer lives in the daemon's namespace (the usual Docker bridge case:
// the workload cannot reach the hook, and no namespace has to be entered per packet path),
// otherwise inside the workload's namespace (Swarm overlay, macvlan, a lab's hub namespace).
#pragma once

#include "src/common/result.h"
#include "src/datapath/netns.h"
#include "src/datapath/tc_attachment.h"
#include "src/identity/workload.h"

#include <string>
#include <vector>

namespace flowwall::daemon {

enum class GuardPlacement { host_peer, in_workload };
const char* to_string(GuardPlacement placement); // "host-peer", "in-workload"

struct GuardPoint {
    datapath::InterfaceRef iface; // where the two programs are attached
    GuardPlacement placement = GuardPlacement::host_peer;
    std::string workload_interface; // the workload's own name for it ("eth0")
    // Unique on the node and safe as a file name: "host-veth1a2b" or "ns4026532840-eth0".
    std::string key;

    // from_workload sees packets leaving the workload: they enter the host at the peer's
    // ingress, and leave the workload's own interface at its egress. to_workload the reverse.
    datapath::TcHook from_workload_hook() const {
        return placement == GuardPlacement::host_peer ? datapath::TcHook::ingress
                                                      : datapath::TcHook::egress;
    }
    datapath::TcHook to_workload_hook() const {
        return placement == GuardPlacement::host_peer ? datapath::TcHook::egress
                                                      : datapath::TcHook::ingress;
    }
    bool operator==(const GuardPoint& other) const { return key == other.key; }
};

// The guard points of a workload: its host_interfaces as host peers, and each interface in
// its namespace (every one but loopback when the workload names none) on its host peer if it
// has one, else inside. A namespace that is gone is an error (the workload is stopping).
Result<std::vector<GuardPoint>> plan_guard_points(const identity::Workload& workload);

} // namespace flowwall::daemon
