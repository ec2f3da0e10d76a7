// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The baseline of the datapath benchmark: a TC program that does nothing, so the figures
 * of from_workload can be given as "the empty program + N ns" on the same machine. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

SEC("tc")
int empty(struct __sk_buff* skb) {
    (void)skb;
    return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
