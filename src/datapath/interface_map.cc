// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/interface_map.h"

#include <cstdio>
#include <cstring>

#include "src/datapath/map_keys.h"

namespace flowwall::datapath {

Result<fw_iface_info> iface_value_of(const InterfaceWorkload& info) {
    if (info.identity == FW_ID_UNKNOWN)
        return Error{EINVAL, "interface entry without an identity (0): resolve the workload's "
                             "identity before guarding its interface"};
    fw_iface_info value{};
    value.identity = info.identity;
    if (info.mac) {
        value.flags |= FW_IFACE_F_MAC_KNOWN;
        std::memcpy(value.mac, info.mac->data(), sizeof(value.mac));
    }
    for (const auto& address : info.addresses) {
        if (address.is_ipv4()) {
            if (value.v4_count == FW_IFACE_MAX_V4)
                return Error{E2BIG, "more than " + std::to_string(FW_IFACE_MAX_V4) +
                                        " IPv4 addresses on one workload interface (" +
                                        address.to_string() +
                                        " is one too many): "
                                        "FW_IFACE_MAX_V4 in abi.h is the limit"};
            std::memcpy(&value.v4[value.v4_count++], address.bytes.data(), 4);
        } else {
            if (value.v6_count == FW_IFACE_MAX_V6)
                return Error{E2BIG, "more than " + std::to_string(FW_IFACE_MAX_V6) +
                                        " IPv6 addresses on one workload interface (" +
                                        address.to_string() +
                                        " is one too many): "
                                        "FW_IFACE_MAX_V6 in abi.h is the limit"};
            value.v6[value.v6_count++] = fw_addr_of(address);
        }
    }
    return value;
}

InterfaceWorkload interface_workload_of(const fw_iface_info& value) {
    InterfaceWorkload info;
    info.identity = value.identity;
    if (value.flags & FW_IFACE_F_MAC_KNOWN) {
        MacAddress mac;
        std::memcpy(mac.data(), value.mac, mac.size());
        info.mac = mac;
    }
    for (unsigned i = 0; i < value.v4_count && i < FW_IFACE_MAX_V4; ++i) {
        fw_addr addr{};
        addr.v4 = value.v4[i];
        info.addresses.push_back(address_of(FW_FAMILY_IPV4, addr));
    }
    for (unsigned i = 0; i < value.v6_count && i < FW_IFACE_MAX_V6; ++i)
        info.addresses.push_back(address_of(FW_FAMILY_IPV6, value.v6[i]));
    return info;
}

fw_iface_key iface_key_of(const InterfaceKey& key) {
    fw_iface_key out{};
    out.netns_cookie = key.netns_cookie;
    out.ifindex = key.ifindex;
    return out;
}

InterfaceKey interface_key_of(const fw_iface_key& key) {
    return {key.netns_cookie, key.ifindex};
}

Result<MacAddress> parse_mac(std::string_view text) {
    MacAddress mac{};
    unsigned parts[6];
    char separators[5];
    std::string copy(text);
    char trailing;
    int n = std::sscanf(copy.c_str(), "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &parts[0], &separators[0],
                        &parts[1], &separators[1], &parts[2], &separators[2], &parts[3],
                        &separators[3], &parts[4], &separators[4], &parts[5], &trailing);
    bool ok = n == 11 && text.size() == 17;
    for (int i = 0; ok && i < 5; ++i)
        ok = separators[i] == separators[0] && (separators[0] == ':' || separators[0] == '-');
    if (!ok)
        return Error{EINVAL, "'" + copy + "' is not a MAC address (expected 02:42:c6:12:00:0a)"};
    for (int i = 0; i < 6; ++i)
        mac[i] = static_cast<uint8_t>(parts[i]);
    return mac;
}

std::string mac_to_string(const MacAddress& mac) {
    char text[18];
    std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                  mac[3], mac[4], mac[5]);
    return text;
}

namespace {

uint32_t slot_of(uint32_t ifindex) {
    return ifindex & (FW_IFACE_SLOTS - 1);
}

bool same_key(const fw_iface_key& a, const fw_iface_key& b) {
    return a.netns_cookie == b.netns_cookie && a.ifindex == b.ifindex;
}

} // namespace

Status InterfaceMap::empty_slot(uint32_t index) {
    return slots_.update(index, fw_iface_slot{});
}

// The hash already has `value`; the slot gets it if it is free or already this interface's.
Status InterfaceMap::fill_slot(const fw_iface_key& key, const fw_iface_info& value) {
    if (slots_.fd() < 0)
        return {};
    const uint32_t index = slot_of(key.ifindex);
    auto current = slots_.lookup(index);
    if (!current)
        return Error{EIO, "read " + slots_.name() + "[" + std::to_string(index) + "]"};
    if (current->key.ifindex != 0 && !same_key(current->key, key))
        return {}; // another interface's: this one is found in the hash
    fw_iface_slot slot{};
    slot.key = key;
    slot.info = value;
    if (current->key.ifindex != 0) {
        if (std::memcmp(&*current, &slot, sizeof(slot)) == 0)
            return {};
        if (auto status = empty_slot(index); !status)
            return status;
    }
    return slots_.update(index, slot);
}

Status InterfaceMap::put(const InterfaceKey& key, const InterfaceWorkload& info) {
    auto value = iface_value_of(info);
    if (!value)
        return value.error();
    const fw_iface_key map_key = iface_key_of(key);
    if (auto status = map_.update(map_key, value.value()); !status)
        return status;
    return fill_slot(map_key, value.value());
}

Status InterfaceMap::erase(const InterfaceKey& key) {
    const fw_iface_key map_key = iface_key_of(key);
    if (auto status = map_.erase(map_key); !status)
        return status;
    if (slots_.fd() < 0)
        return {};
    const uint32_t index = slot_of(map_key.ifindex);
    auto current = slots_.lookup(index);
    if (!current || !same_key(current->key, map_key))
        return {};
    if (auto status = empty_slot(index); !status)
        return status;
    // An interface that shares the slot moves in, off the slower path.
    for (const auto& [other, value] : map_.entries()) {
        if (slot_of(other.ifindex) == index)
            return fill_slot(other, value);
    }
    return {};
}

std::optional<InterfaceWorkload> InterfaceMap::lookup(const InterfaceKey& key) const {
    auto value = map_.lookup(iface_key_of(key));
    if (!value)
        return std::nullopt;
    return interface_workload_of(*value);
}

std::vector<std::pair<InterfaceKey, InterfaceWorkload>> InterfaceMap::entries() const {
    std::vector<std::pair<InterfaceKey, InterfaceWorkload>> out;
    for (const auto& [key, value] : map_.entries())
        out.emplace_back(interface_key_of(key), interface_workload_of(value));
    return out;
}

} // namespace flowwall::datapath
