// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/map_keys.h"

namespace flowwall::datapath {

fw_ipcache_key ipcache_key(const IpAddress& address) {
    fw_ipcache_key key{};
    key.family = address.family;
    key.addr = address.to_abi();
    return key;
}

fw_cidr_key cidr_key(const IpPrefix& prefix) {
    fw_cidr_key key{};
    key.prefixlen = FW_CIDR_PREFIX_BASE + prefix.length;
    key.family = prefix.address.family;
    key.addr = prefix.address.to_abi();
    return key;
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
