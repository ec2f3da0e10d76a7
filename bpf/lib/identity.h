/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef FW_BPF_IDENTITY_H
#define FW_BPF_IDENTITY_H

#include "maps.h"

/* Identity of an address: the exact entry of a workload (hash: every local workload has
 * one, so the hot path never walks the trie), else the longest CIDR entity, else world.
 * *in_ipcache tells the first case from the others: the fail mode needs to know whether a
 * workload's own address has been identified. */
static __always_inline __u32 fw_identity_of(__u8 family, const union fw_addr* addr,
                                            __u8* in_ipcache) {
    struct fw_ipcache_key exact = {.family = family, .addr = *addr};
    struct fw_identity_info* info;
    struct fw_cidr_key prefix;

    info = bpf_map_lookup_elem(&fw_ipcache_v1, &exact);
    *in_ipcache = info != 0;
    if (info)
        return info->identity;

    prefix.prefixlen = FW_CIDR_PREFIX_BASE + (family == FW_FAMILY_IPV4 ? 32 : 128);
    prefix.family = family;
    prefix.pad[0] = prefix.pad[1] = prefix.pad[2] = 0;
    prefix.addr = *addr;
    info = bpf_map_lookup_elem(&fw_cidr_v1, &prefix);
    if (info)
        return info->identity;

    return FW_ID_WORLD;
}

/* Multicast and broadcast destinations are nobody's own address, so they never make a
 * workload end unidentified (IPv4 224/4 and above, which includes 255.255.255.255; ff00::/8). */
static __always_inline int fw_addr_is_unicast(__u8 family, const union fw_addr* addr) {
    if (family == FW_FAMILY_IPV4)
        return addr->bytes[0] < 224;
    return addr->bytes[0] != 0xff;
}

#endif /* FW_BPF_IDENTITY_H */
