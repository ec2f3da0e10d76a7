// SPDX-License-Identifier: Apache-2.0
// What fw_ifaces_v1 says about one guarded interface: the workload's identity, its MAC and the
// addresses it may send from. The addresses are those on the workload's interface as its
// namespace holds them now (IPv4, IPv6 global and link-local) together with those the runtime
// reported; the map has room for FW_IFACE_MAX_V4 / FW_IFACE_MAX_V6 per family, so when a
// workload has more, the runtime's come first, then link-local, then the rest, and what does
// not fit is named (the workload cannot send from it: dropped as spoofed, never let through).
#pragma once

#include "src/common/ip_address.h"
#include "src/datapath/interface_map.h"

#include <optional>
#include <vector>

namespace flowwall::daemon {

struct InterfaceEntry {
    datapath::InterfaceWorkload workload;
    std::vector<IpAddress> left_out; // addresses that did not fit, for the log
};

InterfaceEntry interface_entry(uint32_t identity, const std::optional<datapath::MacAddress>& mac,
                               const std::vector<IpAddress>& runtime_addresses,
                               const std::vector<IpAddress>& interface_addresses);

} // namespace flowwall::daemon
