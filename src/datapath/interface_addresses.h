// SPDX-License-Identifier: Apache-2.0
// What a workload's interface says about itself, read from its namespace over rtnetlink: its
// ifindex, MAC and every address on it (IPv4, IPv6 global and link-local), as the kernel holds
// them now. The daemon fills the interface map (which addresses and MAC the workload behind a
// guarded interface may send from) and the ipcache's link-local entries from this.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flowwall::datapath {

struct InterfaceAddresses {
    int ifindex = 0;
    std::optional<std::array<uint8_t, 6>> mac; // none for interfaces without an Ethernet address
    std::vector<IpAddress> addresses;          // IPv4 first, then IPv6; in the kernel's order
};

// The addresses of `ifname` inside netns_path (empty: the daemon's own namespace). Addresses
// still tentative (IPv6 duplicate address detection running) count: the workload may already
// send from them. Error: the namespace or the interface is gone.
Result<InterfaceAddresses> read_interface_addresses(const std::string& netns_path,
                                                    const std::string& ifname);

// fe80::/10.
bool is_link_local(const IpAddress& address);

} // namespace flowwall::datapath
