// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/interface_entries.h"

#include "src/datapath/interface_addresses.h"

#include <algorithm>

namespace flowwall::daemon {

InterfaceEntry interface_entry(uint32_t identity, const std::optional<datapath::MacAddress>& mac,
                               const std::vector<IpAddress>& runtime_addresses,
                               const std::vector<IpAddress>& interface_addresses,
                               const std::function<bool(const IpAddress&)>& owned_elsewhere) {
    InterfaceEntry entry;
    entry.workload.identity = identity;
    entry.workload.mac = mac;
    // By priority: what the runtime says the workload has, then its link-local addresses
    // (IPv6 neighbour discovery and router solicitation come from them).
    std::vector<IpAddress> ordered = runtime_addresses;
    for (const auto& address : interface_addresses) {
        bool runtimes = std::find(runtime_addresses.begin(), runtime_addresses.end(), address) !=
                        runtime_addresses.end();
        if (runtimes)
            continue;
        if (datapath::is_link_local(address) && !owned_elsewhere(address))
            ordered.push_back(address);
        else if (std::find(entry.untrusted.begin(), entry.untrusted.end(), address) ==
                 entry.untrusted.end())
            entry.untrusted.push_back(address);
    }
    size_t v4 = 0;
    size_t v6 = 0;
    auto& kept = entry.workload.addresses;
    for (const auto& address : ordered) {
        if (std::find(kept.begin(), kept.end(), address) != kept.end() ||
            std::find(entry.left_out.begin(), entry.left_out.end(), address) !=
                entry.left_out.end())
            continue;
        size_t& used = address.is_ipv4() ? v4 : v6;
        if (used == (address.is_ipv4() ? FW_IFACE_MAX_V4 : FW_IFACE_MAX_V6)) {
            entry.left_out.push_back(address);
            continue;
        }
        ++used;
        kept.push_back(address);
    }
    return entry;
}

} // namespace flowwall::daemon
