// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/guarded_interfaces.h"

#include "src/datapath/interface_addresses.h"
#include "src/datapath/netns.h"

namespace flowwall::daemon {

Result<uint64_t> NetnsCookies::of(const std::string& netns_path) {
    if (auto known = cookies_.find(netns_path); known != cookies_.end())
        return known->second;
    auto cookie = datapath::netns_cookie_of(netns_path);
    if (!cookie)
        return cookie.error();
    cookies_.emplace(netns_path, cookie.value());
    return cookie.value();
}

void NetnsCookies::keep_only(const std::set<std::string>& paths) {
    std::erase_if(cookies_, [&](const auto& entry) {
        return !entry.first.empty() && !paths.contains(entry.first);
    });
}

Result<GuardedInterface> read_guarded_interface(const identity::Workload& workload,
                                                const GuardPoint& point, NetnsCookies& cookies) {
    GuardedInterface guarded;
    if (!workload.netns_path.empty()) {
        auto own =
            datapath::read_interface_addresses(workload.netns_path, point.workload_interface);
        if (!own)
            return own.error();
        guarded.mac = own.value().mac;
        guarded.addresses = std::move(own.value().addresses);
        if (point.placement == GuardPlacement::in_workload)
            guarded.key.ifindex = static_cast<uint32_t>(own.value().ifindex);
    }
    // Without a namespace (host interfaces named by the source) only the runtime's addresses
    // are known, and no MAC: the programs then check addresses only.
    if (point.on_peer()) {
        auto ifindex = datapath::ifindex_of(point.iface.netns_path, point.iface.name);
        if (!ifindex)
            return ifindex.error();
        guarded.key.ifindex = static_cast<uint32_t>(ifindex.value());
    }
    auto cookie = cookies.of(point.iface.netns_path);
    if (!cookie)
        return cookie.error();
    guarded.key.netns_cookie = cookie.value();
    return guarded;
}

} // namespace flowwall::daemon
