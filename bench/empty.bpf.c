// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The baselines of the datapath benchmarks: a TC and an XDP program that do nothing, so the
 * figures of from_workload and uplink_prefilter can be given as "the empty program + N ns"
 * on the same machine. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

SEC("tc")
int empty(struct __sk_buff* skb) {
    (void)skb;
    return TC_ACT_UNSPEC;
}

SEC("xdp")
int empty_xdp(struct xdp_md* ctx) {
    (void)ctx;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
