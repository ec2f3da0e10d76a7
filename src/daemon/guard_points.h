// SPDX-License-Identifier: Apache-2.0
// Where a workload's packets are judged: on the far end of its veth whenever the daemon can
// reach it, because the workload can neither remove a hook there nor skip it (a packet socket
// with PACKET_QDISC_BYPASS skips the TC egress hook of its own interface, never the ingress
// of the peer). That far end is in the daemon's namespace on Docker's bridge (host_peer), or
// in another namespace the daemon has a path to: a Swarm overlay's per-network namespace, a
// lab's hub (netns_peer). Only where there is none (macvlan, a peer in a namespace without a
// path) do the programs go inside the workload's namespace (in_workload), and there the
// receiving side is what the workload cannot skip (docs/datapath.md, "Threat model").
#pragma once

#include "src/common/result.h"
#include "src/datapath/netns.h"
#include "src/datapath/tc_attachment.h"
#include "src/identity/workload.h"

#include <string>
#include <vector>

namespace flowwall::daemon {

enum class GuardPlacement { host_peer, netns_peer, in_workload };
const char* to_string(GuardPlacement placement); // "host-peer", "netns-peer", "in-workload"

// Where Docker (Swarm overlay namespaces among them) and `ip netns` mount namespaces: where
// the daemon looks for the namespace of a veth peer that is not in its own.
inline const std::vector<std::string> kPeerNamespaceDirs = {"/run/netns", "/run/docker/netns"};

struct GuardPoint {
    datapath::InterfaceRef iface; // where the two programs are attached
    GuardPlacement placement = GuardPlacement::host_peer;
    std::string workload_interface; // the workload's own name for it ("eth0")
    // Unique on the node and safe as a file name: "host-veth1a2b", or "ns4026532840-eth0" (the
    // inode of the namespace the programs are in, the interface's name there).
    std::string key;

    // The programs sit on the workload's veth peer, not on its own interface.
    bool on_peer() const { return placement != GuardPlacement::in_workload; }
    // from_workload sees packets leaving the workload: they arrive at the peer's ingress, and
    // leave the workload's own interface at its egress. to_workload the reverse.
    datapath::TcHook from_workload_hook() const {
        return on_peer() ? datapath::TcHook::ingress : datapath::TcHook::egress;
    }
    datapath::TcHook to_workload_hook() const {
        return on_peer() ? datapath::TcHook::egress : datapath::TcHook::ingress;
    }
    bool operator==(const GuardPoint& other) const { return key == other.key; }
};

// The guard points of a workload: its host_interfaces as host peers, and each interface in
// its namespace (every one but loopback when the workload names none) on its veth peer if
// the peer is in the daemon's namespace or one mounted under namespace_dirs, else inside. A
// namespace that is gone is an error (the workload is stopping).
Result<std::vector<GuardPoint>>
plan_guard_points(const identity::Workload& workload,
                  const std::vector<std::string>& namespace_dirs = kPeerNamespaceDirs);

} // namespace flowwall::daemon
