// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/map_keys.h"

#include <algorithm>
#include <cstring>

namespace flowwall::datapath {

// IpAddress uses the datapath's family numbers so that a key is a copy, not a translation.
static_assert(kFamilyIpv4 == FW_FAMILY_IPV4 && kFamilyIpv6 == FW_FAMILY_IPV6);
static_assert(sizeof(fw_addr) == sizeof(IpAddress::bytes));

fw_addr fw_addr_of(const IpAddress& address) {
    fw_addr addr{};
    std::memcpy(addr.bytes, address.bytes.data(), address.is_ipv4() ? 4 : 16);
    return addr;
}

IpAddress address_of(uint8_t family, const fw_addr& addr) {
    IpAddress address;
    address.family = family;
    std::memcpy(address.bytes.data(), addr.bytes, sizeof(addr.bytes));
    if (address.is_ipv4())
        std::fill(address.bytes.begin() + 4, address.bytes.end(), 0);
    return address;
}

fw_ipcache_key ipcache_key(const IpAddress& address) {
    fw_ipcache_key key{};
    key.family = address.family;
    key.addr = fw_addr_of(address);
    return key;
}

fw_cidr_key cidr_key(const IpPrefix& prefix) {
    fw_cidr_key key{};
    key.prefixlen = FW_CIDR_PREFIX_BASE + prefix.length;
    key.family = prefix.address.family;
    key.addr = fw_addr_of(prefix.address);
    return key;
}

IpPrefix prefix_of(const fw_cidr_key& key) {
    IpPrefix prefix;
    prefix.address = address_of(key.family, key.addr);
    prefix.length = static_cast<uint8_t>(key.prefixlen - FW_CIDR_PREFIX_BASE);
    return prefix;
}

fw_policy_key policy_key(uint32_t src_identity, uint32_t dst_identity, uint16_t dst_port,
                         uint8_t protocol) {
    fw_policy_key key{};
    key.src_identity = src_identity;
    key.dst_identity = dst_identity;
    key.dst_port = dst_port;
    key.protocol = protocol;
    return key;
}

} // namespace flowwall::datapath
