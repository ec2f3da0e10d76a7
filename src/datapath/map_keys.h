// SPDX-License-Identifier: Apache-2.0
// The keys of the maps the programs look up, built the one way the programs expect them
// (padding zeroed, prefix lengths offset past the family byte), and addresses to and from
// the datapath's fw_addr.
#pragma once

#include <cstdint>

#include "flowwall/abi.h"
#include "src/common/ip_address.h"

namespace flowwall::datapath {

fw_addr fw_addr_of(const IpAddress& address);
// `family` as the datapath writes it (FW_FAMILY_*); IPv4 keeps only the first 4 bytes.
IpAddress address_of(uint8_t family, const fw_addr& addr);

fw_ipcache_key ipcache_key(const IpAddress& address);
fw_cidr_key cidr_key(const IpPrefix& prefix);
IpPrefix prefix_of(const fw_cidr_key& key);
// dst_port in host order; 0 for protocols without ports.
fw_policy_key policy_key(uint32_t src_identity, uint32_t dst_identity, uint16_t dst_port,
                         uint8_t protocol);

} // namespace flowwall::datapath
