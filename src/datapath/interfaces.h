// SPDX-License-Identifier: Apache-2.0
// Which interfaces a network namespace has, and where the other end of a veth lives: a
// workload's interface is guarded on its host-side peer when that peer is in the daemon's
// own namespace (one hook serves every namespace behind it and the workload cannot touch
// it), otherwise inside the workload's namespace (e.g. Swarm overlay peers live in a
// namespace of their own). Read over rtnetlink; nothing is shelled out.
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

// The host-side peer of the veth `ifname` inside netns_path, if that peer is in the daemon's
// namespace; nullopt when the interface is not a veth or its peer lives elsewhere.
Result<std::optional<std::string>> find_host_peer(const std::string& netns_path,
                                                  const std::string& ifname);

} // namespace flowwall::datapath
