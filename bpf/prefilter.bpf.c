// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * uplink_prefilter: XDP on the node's uplinks, before the stack allocates an skb. Drops
 * packets whose source address falls in a deny prefix (CIDR deny lists, reputation
 * feeds) and counts them. It judges nothing else: whatever it cannot read (truncated,
 * not IP) passes, and the stack or the TC firewall decides.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/stats.h"

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, FW_DEFAULT_DENY_ENTRIES);
    __type(key, struct fw_cidr_key);
    __type(value, __u32); /* the list that named the prefix; user space keeps the names */
    __uint(map_flags, BPF_F_NO_PREALLOC);
} fw_deny_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FW_CTR_MAX);
    __type(key, __u32);
    __type(value, struct fw_counter_value);
} fw_xstats_v3 SEC(".maps");

/* Source address of an IPv4/IPv6 frame; 0 if there is none to read. */
static __always_inline int fw_source_of(void* data, void* data_end, struct fw_cidr_key* key) {
    __be16 proto;
    void* l3 = fw_network_header(data, data_end, &proto); /* a trunk uplink carries tags */

    if (!l3)
        return 0;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr* ip = l3;

        if ((void*)(ip + 1) > data_end)
            return 0;
        key->prefixlen = FW_CIDR_PREFIX_BASE + 32;
        key->family = FW_FAMILY_IPV4;
        key->addr.v4 = ip->saddr;
        return 1;
    }
    if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip6 = l3;

        if ((void*)(ip6 + 1) > data_end)
            return 0;
        key->prefixlen = FW_CIDR_PREFIX_BASE + 128;
        key->family = FW_FAMILY_IPV6;
        __builtin_memcpy(key->addr.bytes, &ip6->saddr, 16);
        return 1;
    }
    return 0;
}

SEC("xdp")
int uplink_prefilter(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    struct fw_cidr_key source = {};
    __u32 reason = FW_REASON_PREFILTER_PASS;

    if (fw_source_of(data, data_end, &source) && bpf_map_lookup_elem(&fw_deny_v1, &source))
        reason = FW_REASON_CIDR_DENY;

    fw_count(&fw_xstats_v3, reason, data_end - data);
    return reason == FW_REASON_CIDR_DENY ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
