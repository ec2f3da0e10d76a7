// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * uplink_prefilter: XDP on the node's uplinks, before the stack allocates an skb. Drops
 * packets whose source address an inbound deny list names (CIDR deny lists, reputation
 * feeds; the allow set wins) and counts them, per list and in total. It judges nothing
 * else: whatever it cannot read (truncated, not IP) passes, and the stack or the TC
 * firewall decides.
 */
#include "lib/common.h"
#include "lib/deny.h"
#include "lib/parse.h"
#include "lib/stats.h"

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FW_CTR_MAX);
    __type(key, __u32);
    __type(value, struct fw_counter_value);
} fw_xstats_v3 SEC(".maps");

SEC("xdp")
int uplink_prefilter(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    union fw_addr source = {};
    __u8 family = 0;
    __u32 list = 0;

    if (fw_frame_source(data, data_end, &family, &source))
        list = fw_deny_list_of(family, &source, FW_DENY_INBOUND);

    if (list) {
        fw_deny_count(list, data_end - data);
        fw_count(&fw_xstats_v3, FW_REASON_CIDR_DENY, data_end - data);
        return XDP_DROP;
    }
    fw_count(&fw_xstats_v3, FW_REASON_PREFILTER_PASS, data_end - data);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
