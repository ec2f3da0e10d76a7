// SPDX-License-Identifier: Apache-2.0
// A workload as the sources report it: what runs, under which identity, where its
// interfaces are and which addresses it owns. Sources fill it; the daemon turns it into
// ipcache entries and TC attachments. Nothing here knows about maps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/common/ip_address.h"

namespace flowwall::identity {

struct Workload {
    // Unique on the node and stable for the workload's life: "docker/<container id>",
    // "file/<entry name>".
    std::string key;
    std::string source;   // "docker", "endpoints-file"
    std::string name;     // container name (without the leading '/') or file entry name
    std::string identity; // identity name, see identity_naming.h
    std::string image;    // image reference as the runtime reports it; empty if none

    // The workload's own network namespace ("/var/run/docker/netns/ab12", "/run/netns/web",
    // "/proc/1234/ns/net"); empty when the workload is reached only through host interfaces.
    std::string netns_path;
    // Interfaces inside netns_path to guard; empty: every interface but loopback.
    std::vector<std::string> interfaces;
    // Interfaces in the host namespace that lead to the workload (the host side of a veth),
    // guarded as the workload's peer. Used when the source knows them (endpoints file).
    std::vector<std::string> host_interfaces;

    std::vector<IpAddress> addresses;

    // When the workload (re)started, in nanoseconds since the epoch as the runtime reports
    // it. Decides who owns an address two workloads claim: the later start wins, because
    // the earlier one's stop has not been seen yet.
    int64_t started_ns = 0;

    bool operator==(const Workload&) const = default;
};

} // namespace flowwall::identity
