// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The reference of the prefilter benchmark: the same source lookup in one plain BPF LPM trie
 * holding every prefix, as the prefilter did before the deny lists (bench/prefilter_bench.cc). */
#include "lib/common.h"
#include "lib/parse.h"

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1 << 21);
    __type(key, struct fw_cidr_key);
    __type(value, __u32);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} reference_trie SEC(".maps");

SEC("xdp")
int lpm_reference(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    struct fw_cidr_key key = {};

    if (!fw_frame_source(data, data_end, &key.family, &key.addr))
        return XDP_PASS;
    key.prefixlen = FW_CIDR_PREFIX_BASE + (key.family == FW_FAMILY_IPV4 ? 32 : 128);
    return bpf_map_lookup_elem(&reference_trie, &key) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
