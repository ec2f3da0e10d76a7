// SPDX-License-Identifier: Apache-2.0
// Which interfaces a network namespace has, and where the other end of a veth lives: a
// workload's interface is guarded on its veth peer when the daemon can reach that peer (in
// its own namespace, as on Docker's bridge, or in a namespace it has a path to, as a Swarm
// overlay's or a lab's hub): the workload cannot touch a hook there, nor skip it. Otherwise
// (macvlan, a peer in no known namespace) inside the workload's namespace. Read over
// rtnetlink; nothing is shelled out.
#pragma once

#include "src/common/result.h"

#include <optional>
#include <string>
#include <vector>

namespace flowwall::datapath {

struct InterfaceInfo {
    std::string name;
    int ifindex = 0;
    std::string kind;      // IFLA_INFO_KIND: "veth", "bridge", "vxlan"; empty for physical
    int link_ifindex = 0;  // IFLA_LINK: the peer's ifindex (veth), in link_netnsid's namespace
    int link_netnsid = -1; // IFLA_LINK_NETNSID: the peer's namespace as this one numbers it
    bool loopback = false;
};

// The interfaces of netns_path (empty: the daemon's own namespace).
Result<std::vector<InterfaceInfo>> list_interfaces(const std::string& netns_path);

// The far end of a workload's veth.
struct VethPeer {
    std::string netns_path; // empty: the daemon's own namespace
    std::string name;
    int ifindex = 0; // inside netns_path
};

// Where the other end of the veth `ifname` inside netns_path lives: the daemon's own
// namespace if it is there, else the first namespace mounted under one of namespace_dirs
// that holds it (where `ip netns` and Docker keep theirs: a Swarm overlay's per-network
// namespace, a lab's hub). nullopt when ifname is not a veth, both ends are in netns_path, or
// the peer's namespace has no path the daemon knows (it cannot enter it).
Result<std::optional<VethPeer>> find_veth_peer(const std::string& netns_path,
                                               const std::string& ifname,
                                               const std::vector<std::string>& namespace_dirs);

} // namespace flowwall::datapath
