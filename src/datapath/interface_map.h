// SPDX-License-Identifier: Apache-2.0
// fw_ifaces_v1 in the daemon's terms: which workload sits behind a guarded interface, which
// addresses and MAC it may send from. The programs judge a packet's workload end by this entry
// (bpf/lib/interface.h), not by the addresses the packet carries.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flowwall/abi.h"
#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/datapath/typed_map.h"

namespace flowwall::datapath {

// A guarded interface: its ifindex inside the network namespace whose cookie is given.
// netns_cookie: netns_cookie_of() for the namespace the interface lives in (the host's for a
// host-side veth peer, e.g. a lab's hub for a peer in another namespace, the workload's in
// the in-workload placement).
struct InterfaceKey {
    uint64_t netns_cookie = 0;
    uint32_t ifindex = 0;
    auto operator<=>(const InterfaceKey&) const = default;
};

using MacAddress = std::array<uint8_t, 6>;

struct InterfaceWorkload {
    uint32_t identity = 0;
    std::optional<MacAddress> mac; // known: Ethernet and ARP sources must be it
    // Every address the workload may send from: at most FW_IFACE_MAX_V4 IPv4 and
    // FW_IFACE_MAX_V6 IPv6 ones, its link-local fe80:: address included.
    std::vector<IpAddress> addresses;
    bool operator==(const InterfaceWorkload&) const = default;
};

// The map's entry for info; the error names what does not fit (too many addresses of a
// family, identity 0).
Result<fw_iface_info> iface_value_of(const InterfaceWorkload& info);
InterfaceWorkload interface_workload_of(const fw_iface_info& value);
fw_iface_key iface_key_of(const InterfaceKey& key);
InterfaceKey interface_key_of(const fw_iface_key& key);

// "01:23:45:67:89:ab" (also with '-'); the error says what was not a MAC.
Result<MacAddress> parse_mac(std::string_view text);
std::string mac_to_string(const MacAddress& mac);

// fw_ifaces_v1 (every entry) and its fast path fw_ifslots_v1 (abi.h): an entry also sits in
// slot ifindex & (FW_IFACE_SLOTS - 1) when no other interface holds that slot. The programs
// read a slot while this writes it, and an array slot is copied in place, not swapped, so a
// slot never goes straight from one content to another: it is emptied first (the programs
// then read the hash, already up to date), then filled. A program that read the slot's key
// just before may still read a mix of the old and the new entry of the same interface (the
// addresses it had and the ones it gets), never another interface's.
class InterfaceMap {
public:
    InterfaceMap() = default;
    InterfaceMap(TypedMap<fw_iface_key, fw_iface_info> map, TypedMap<uint32_t, fw_iface_slot> slots)
        : map_(std::move(map)), slots_(std::move(slots)) {}

    // Adds or replaces the entry. Error: too many addresses, or the map is full. Not for
    // concurrent use: one writer (the daemon's guard loop) at a time.
    Status put(const InterfaceKey& key, const InterfaceWorkload& info);
    Status erase(const InterfaceKey& key);
    std::optional<InterfaceWorkload> lookup(const InterfaceKey& key) const;
    std::vector<std::pair<InterfaceKey, InterfaceWorkload>> entries() const;
    std::size_t count() const { return map_.count(); }

    int fd() const { return map_.fd(); }
    const std::string& name() const { return map_.name(); }

private:
    Status fill_slot(const fw_iface_key& key, const fw_iface_info& value);
    Status empty_slot(uint32_t index);

    TypedMap<fw_iface_key, fw_iface_info> map_;
    TypedMap<uint32_t, fw_iface_slot> slots_;
};

} // namespace flowwall::datapath
