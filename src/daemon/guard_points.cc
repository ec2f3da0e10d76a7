// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/guard_points.h"

#include "src/datapath/interfaces.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace flowwall::daemon {

const char* to_string(GuardPlacement placement) {
    switch (placement) {
    case GuardPlacement::host_peer:
        return "host-peer";
    case GuardPlacement::netns_peer:
        return "netns-peer";
    case GuardPlacement::in_workload:
        break;
    }
    return "in-workload";
}

namespace {

GuardPoint host_peer(const std::string& host_ifname, const std::string& workload_ifname) {
    return GuardPoint{.iface = {.netns_path = "", .name = host_ifname},
                      .placement = GuardPlacement::host_peer,
                      .workload_interface = workload_ifname,
                      .key = "host-" + host_ifname};
}

// The namespace's inode names it for pins: stable for its life, unlike /proc/<pid> paths.
Result<ino_t> netns_inode(const std::string& netns_path, const std::string& whose) {
    struct stat netns_stat {};
    if (::stat(netns_path.c_str(), &netns_stat) != 0)
        return Error::from_errno(errno,
                                 "network namespace " + netns_path + " of " + whose + " is gone");
    return netns_stat.st_ino;
}

} // namespace

Result<std::vector<GuardPoint>> plan_guard_points(const identity::Workload& workload,
                                                  const std::vector<std::string>& namespace_dirs) {
    std::vector<GuardPoint> points;
    for (const auto& ifname : workload.host_interfaces)
        points.push_back(host_peer(ifname, ifname));
    if (workload.netns_path.empty())
        return points;

    auto workload_inode = netns_inode(workload.netns_path, workload.name);
    if (!workload_inode)
        return workload_inode.error();
    auto interfaces = datapath::list_interfaces(workload.netns_path);
    if (!interfaces)
        return interfaces.error();

    std::vector<std::string> wanted = workload.interfaces;
    if (wanted.empty()) {
        for (const auto& info : interfaces.value())
            if (!info.loopback)
                wanted.push_back(info.name);
    }
    for (const auto& ifname : wanted) {
        bool present = std::any_of(interfaces.value().begin(), interfaces.value().end(),
                                   [&](const auto& info) { return info.name == ifname; });
        if (!present)
            return Error::from_errno(ENODEV, "interface " + ifname + " of " + workload.name +
                                                 " not found in " + workload.netns_path);
        auto peer = datapath::find_veth_peer(workload.netns_path, ifname, namespace_dirs);
        if (!peer)
            return peer.error();
        if (peer.value() && peer.value()->netns_path.empty()) {
            points.push_back(host_peer(peer.value()->name, ifname));
        } else if (peer.value()) {
            auto peer_inode = netns_inode(peer.value()->netns_path, workload.name + "'s veth peer");
            if (!peer_inode)
                return peer_inode.error();
            points.push_back(GuardPoint{
                .iface = {.netns_path = peer.value()->netns_path, .name = peer.value()->name},
                .placement = GuardPlacement::netns_peer,
                .workload_interface = ifname,
                .key = "ns" + std::to_string(peer_inode.value()) + "-" + peer.value()->name});
        } else {
            points.push_back(
                GuardPoint{.iface = {.netns_path = workload.netns_path, .name = ifname},
                           .placement = GuardPlacement::in_workload,
                           .workload_interface = ifname,
                           .key = "ns" + std::to_string(workload_inode.value()) + "-" + ifname});
        }
    }
    return points;
}

} // namespace flowwall::daemon
