// SPDX-License-Identifier: Apache-2.0
// The interface map's view of a guard point: its key (the cookie of the namespace the programs
// run in and the ifindex of the interface they sit on) and what the workload's side of the
// link holds now (MAC, addresses), read over rtnetlink inside the workload's namespace. For a
// veth peer the key is the peer's, in the namespace the peer is in (the daemon's or another);
// the MAC and addresses are still those of the workload's own interface, the one that writes
// the frames.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/daemon/guard_points.h"
#include "src/datapath/interface_map.h"
#include "src/identity/workload.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flowwall::daemon {

struct GuardedInterface {
    datapath::InterfaceKey key;
    std::optional<datapath::MacAddress> mac;
    std::vector<IpAddress> addresses; // on the workload's interface, link-local included
};

// Namespace cookies by path, read once per namespace (a path names one namespace for the
// workload's life).
class NetnsCookies {
public:
    Result<uint64_t> of(const std::string& netns_path); // empty: the daemon's own
    // Forgets the namespaces not in `paths` (their workloads are gone).
    void keep_only(const std::set<std::string>& paths);

private:
    std::map<std::string, uint64_t> cookies_;
};

// Error: the namespace or an interface is gone (the workload is stopping).
Result<GuardedInterface> read_guarded_interface(const identity::Workload& workload,
                                                const GuardPoint& point, NetnsCookies& cookies);

} // namespace flowwall::daemon
