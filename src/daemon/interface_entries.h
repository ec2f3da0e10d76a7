// SPDX-License-Identifier: Apache-2.0
// What fw_ifaces_v1 says about one guarded interface: the workload's identity, its MAC and the
// addresses it may send from. The addresses are those the runtime reported, and the IPv6
// link-local addresses on the workload's interface (runtimes do not report them) that no other
// workload owns. Nothing else read from the namespace is trusted: a workload that may change
// its own interface (CAP_NET_ADMIN) would otherwise claim a neighbour's address by adding it,
// and the next read would make the claim good. The map has room for FW_IFACE_MAX_V4 /
// FW_IFACE_MAX_V6 per family, so when a workload has more, the runtime's come first, then
// link-local, then the rest, and what does not fit is named (the workload cannot send from it:
// dropped as spoofed, never let through).
#pragma once

#include "src/common/ip_address.h"
#include "src/datapath/interface_map.h"

#include <functional>
#include <optional>
#include <vector>

namespace flowwall::daemon {

struct InterfaceEntry {
    datapath::InterfaceWorkload workload;
    std::vector<IpAddress> left_out;  // addresses that did not fit, for the log
    std::vector<IpAddress> untrusted; // on the interface, but not the workload's to send from
};

// `owned_elsewhere` tells whether another workload owns an address (the runtime reported it
// for that workload, or its link-local address was taken first).
InterfaceEntry interface_entry(uint32_t identity, const std::optional<datapath::MacAddress>& mac,
                               const std::vector<IpAddress>& runtime_addresses,
                               const std::vector<IpAddress>& interface_addresses,
                               const std::function<bool(const IpAddress&)>& owned_elsewhere);

} // namespace flowwall::daemon
