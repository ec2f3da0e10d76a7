// SPDX-License-Identifier: Apache-2.0
// Running one operation inside another network namespace (a container's, a test's).
//
// Interface indexes, tcx/XDP link creation, bpf_prog_query and rtnetlink sockets all resolve
// against the network namespace of the calling thread. setns(CLONE_NEWNET) changes only the
// calling thread, so the work runs on a short-lived thread that enters the namespace and then
// ends: no thread of the daemon is ever left in a foreign namespace.
#pragma once

#include "src/common/result.h"

#include <cstdint>
#include <functional>
#include <string>

namespace flowwall::datapath {

// Names an interface as the daemon sees it: which namespace, which name inside it.
struct InterfaceRef {
    std::string netns_path; // e.g. /run/netns/web or /proc/1234/ns/net; empty: the daemon's own
    std::string name;       // interface name inside that namespace

    // "veth3" or "eth0 in /run/netns/web", for messages.
    std::string to_string() const;
};

// Runs work inside the network namespace at netns_path and returns its Status. Empty
// netns_path: runs inline in the caller's namespace. An exception thrown by work is rethrown
// in the caller.
Status run_in_netns(const std::string& netns_path, const std::function<Status()>& work);

// The ifindex of ifname inside netns_path. Error (ENODEV): "no interface NAME in netns PATH".
Result<int> ifindex_of(const std::string& netns_path, const std::string& ifname);

// The cookie of the network namespace at netns_path (empty: the daemon's own), as the kernel
// keeps it in net->net_cookie: what fw_ifaces_v1 keys pair with an ifindex. Read with
// SO_NETNS_COOKIE on a socket opened in that namespace (kernel 5.14+).
Result<uint64_t> netns_cookie_of(const std::string& netns_path);

// Same, for code that already runs inside the namespace (in run_in_netns()).
Result<uint64_t> netns_cookie_in_entered_netns();

// Same, for code that already runs inside iface.netns_path (in run_in_netns()): no extra
// thread, and the error still names the namespace.
Result<int> ifindex_in_entered_netns(const InterfaceRef& iface);

} // namespace flowwall::datapath
