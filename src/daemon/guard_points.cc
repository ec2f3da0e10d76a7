// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/guard_points.h"

#include "src/datapath/interfaces.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace flowwall::daemon {

const char* to_string(GuardPlacement placement) {
    return placement == GuardPlacement::host_peer ? "host-peer" : "in-workload";
}

namespace {

GuardPoint host_peer(const std::string& host_ifname, const std::string& workload_ifname) {
    return GuardPoint{.iface = {.netns_path = "", .name = host_ifname},
                      .placement = GuardPlacement::host_peer,
                      .workload_interface = workload_ifname,
                      .key = "host-" + host_ifname};
}

} // namespace

Result<std::vector<GuardPoint>> plan_guard_points(const identity::Workload& workload) {
    std::vector<GuardPoint> points;
    for (const auto& ifname : workload.host_interfaces)
        points.push_back(host_peer(ifname, ifname));
    if (workload.netns_path.empty())
        return points;

    // The namespace's inode names it for pins: stable for its life, unlike /proc/<pid> paths.
    struct stat netns_stat {};
    if (::stat(workload.netns_path.c_str(), &netns_stat) != 0)
        return Error::from_errno(errno, "network namespace " + workload.netns_path + " of " +
                                            workload.name + " is gone");
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
        auto peer = datapath::find_host_peer(workload.netns_path, ifname);
        if (!peer)
            return peer.error();
        if (peer.value()) {
            points.push_back(host_peer(*peer.value(), ifname));
        } else {
            points.push_back(
                GuardPoint{.iface = {.netns_path = workload.netns_path, .name = ifname},
                           .placement = GuardPlacement::in_workload,
                           .workload_interface = ifname,
                           .key = "ns" + std::to_string(netns_stat.st_ino) + "-" + ifname});
        }
    }
    return points;
}

} // namespace flowwall::daemon
