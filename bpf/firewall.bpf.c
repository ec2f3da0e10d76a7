// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The TC firewall on workload interfaces. Two entry points, named from the workload's
 * point of view; both are attached to the host-side peer of a workload's veth (or the
 * workload's interface when it lives in another namespace):
 *
 *   from_workload: ingress of the host-side peer: packets the workload sends.
 *   to_workload:   egress of the host-side peer: packets on their way to the workload.
 *
 * Both run the same steps. A UDP/ICMP flow between two local workloads is judged once, at
 * the first hook it meets, and the second hook finds its conntrack entry; a TCP SYN is
 * judged at both (the same verdict: one model, one pair of identities).
 *
 * Verdicts: TC_ACT_SHOT drops; a pass is TC_ACT_UNSPEC, "no objection", so programs after
 * ours on the same hook (tcx chain or cls_bpf filters) still have their say.
 */
#include "lib/common.h"
#include "lib/conntrack.h"
#include "lib/deny.h"
#include "lib/icmp_error.h"
#include "lib/identity.h"
#include "lib/interface.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/report.h"
#include "lib/sender.h"
#include "lib/stats.h"
#include "lib/verdict.h"

/* Enough for Ethernet, IPv6 with a few extension headers, and TCP. */
#define FW_PULL_BYTES 256

/* Direct packet access sees only the linear part of the skb; make sure the headers are
 * there (GRO'd or paged packets may carry them in fragments). */
static __always_inline void fw_linearize_headers(struct __sk_buff* skb) {
    __u32 linear = skb->data_end - skb->data;
    __u32 want = skb->len < FW_PULL_BYTES ? skb->len : FW_PULL_BYTES;

    if (linear < want)
        bpf_skb_pull_data(skb, want);
}

/* The identities of a packet's two ends. The guarded workload's own end (the source of what
 * it sends, the destination of what it gets) is the interface's entry when there is one,
 * whatever the address says (broadcast, multicast, link-local included); otherwise the
 * address's, as before the interface map. *workload_unidentified: that end has neither. */
static __always_inline void fw_flow_ends(const struct fw_packet* pkt, __u32 direction,
                                         const struct fw_iface_info* iface,
                                         struct fw_policy_key* flow, int* workload_unidentified) {
    __u8 src_in_ipcache = 0, dst_in_ipcache = 0;
    int own_is_src = direction == FW_DIR_FROM_WORKLOAD;
    int guarded = fw_is_set(iface);

    flow->src_identity =
        guarded && own_is_src
            ? iface->identity
            : fw_identity_of(pkt->tuple.family, &pkt->tuple.src_addr, &src_in_ipcache);
    flow->dst_identity =
        guarded && !own_is_src
            ? iface->identity
            : fw_identity_of(pkt->tuple.family, &pkt->tuple.dst_addr, &dst_in_ipcache);
    flow->dst_port = pkt->policy_port;
    flow->protocol = pkt->tuple.protocol;
    if (guarded)
        *workload_unidentified = 0;
    else if (own_is_src)
        *workload_unidentified = !src_in_ipcache;
    else
        *workload_unidentified =
            !dst_in_ipcache && fw_addr_is_unicast(pkt->tuple.family, &pkt->tuple.dst_addr);
}

static __always_inline void fw_report_drop(struct __sk_buff* skb, const struct fw_packet* pkt,
                                           __u32 direction, const struct fw_iface_info* iface,
                                           __u32 reason) {
    struct fw_policy_key flow = {};
    int workload_unidentified;

    fw_flow_ends(pkt, direction, iface, &flow, &workload_unidentified);
    struct fw_report report = {
        .pkt = pkt,
        .flow = &flow,
        .kind = FW_EVENT_DROP,
        .reason = reason,
        .direction = direction,
        .ifindex = skb->ifindex,
    };
    fw_report_send(&report, bpf_ktime_get_coarse_ns());
}

/* Deny lists (lib/deny.h): the list that refuses the remote end (direction
 * FW_DIR_TO_WORKLOAD: the source, looked up as inbound; FW_DIR_FROM_WORKLOAD: the
 * destination, as outbound), 0 for none. The allow set wins, and so does any address the
 * ipcache knows (a workload or the node: a feed that lists private ranges must not cut them
 * off). A global function taking only numbers: the verifier checks it once instead of once
 * for every path that reaches it (inlined, the programs exceed its budget), and the caller's
 * packet on the stack stays as precisely known as before the call. */
__noinline int fw_deny_list_of_remote(__u32 family_and_direction, __u32 w0, __u32 w1, __u32 w2,
                                      __u32 w3) {
    __u8 family = family_and_direction & 0xff;
    __u32 direction = family_and_direction >> 8;
    struct fw_ipcache_key known = {.family = family, .addr.v6 = {w0, w1, w2, w3}};
    __u32 list;

    list = fw_deny_list_of(family, &known.addr,
                           direction == FW_DIR_TO_WORKLOAD ? FW_DENY_INBOUND : FW_DENY_OUTBOUND);
    if (list && bpf_map_lookup_elem(&fw_ipcache_v1, &known))
        return 0;
    return list;
}

static __always_inline __u32 fw_judge_new_connection(struct __sk_buff* skb,
                                                     const struct fw_packet* pkt, __u32 direction,
                                                     const struct fw_iface_info* iface) {
    struct fw_policy_key flow = {};
    int workload_unidentified;
    __u32 reason, kind, failure;

    fw_flow_ends(pkt, direction, iface, &flow, &workload_unidentified);
    reason = fw_verdict_new_flow(&flow, workload_unidentified);
    kind = fw_event_kind_of(reason);

    if (reason == FW_REASON_LEARNED) {
        failure = fw_policy_learn(&flow);
        if (failure) {
            /* No "learned" event for a flow the map could not hold: the model follows the
             * map, so a flood of new flows cannot grow the daemon's memory past the map's
             * capacity, and nothing shows as learned that would be blocked after learning.
             * The counter says how many were missed. */
            fw_count(&fw_stats_v3, failure, 0);
            kind = 0;
        }
    }
    if (!fw_reason_is_drop(reason) && pkt->tuple.protocol != IPPROTO_TCP) {
        failure = fw_ct_create(pkt, flow.src_identity, flow.dst_identity, reason, bpf_jiffies64());
        if (failure)
            fw_count(&fw_stats_v3, failure, 0);
    }
    if (kind) {
        struct fw_report report = {
            .pkt = pkt,
            .flow = &flow,
            .kind = kind,
            .reason = reason,
            .direction = direction,
            .ifindex = skb->ifindex,
        };
        fw_report_send(&report, bpf_ktime_get_coarse_ns());
    }
    return reason;
}

static __always_inline __u32 fw_judge(struct __sk_buff* skb, __u32 direction) {
    const struct fw_iface_info* iface;
    struct fw_packet pkt = {};
    void *data, *data_end;
    __u32 reason, checked;

    fw_linearize_headers(skb);
    data = (void*)(long)skb->data;
    data_end = (void*)(long)skb->data_end;
    iface = fw_interface_of(skb);
    reason = fw_parse(data, data_end, &pkt);

    /* What the workload sends must be its own to say (lib/sender.h), before any verdict that
     * believes the packet: every packet, whatever the mode and fail mode. */
    if (direction == FW_DIR_FROM_WORKLOAD && fw_is_set(iface)) {
        checked = fw_sender_check(data, data_end, &pkt, reason, iface);
        if (checked == FW_REASON_SPOOFED) {
            fw_report_drop(skb, &pkt, direction, iface, checked);
            return checked;
        }
        if (checked != FW_SENDER_OK)
            return checked;
    }
    if (pkt.tuple.family && reason != FW_REASON_MALFORMED) {
        const union fw_addr* remote =
            direction == FW_DIR_TO_WORKLOAD ? &pkt.tuple.src_addr : &pkt.tuple.dst_addr;
        __u32 list = fw_deny_list_of_remote(pkt.tuple.family | direction << 8, remote->v6[0],
                                            remote->v6[1], remote->v6[2], remote->v6[3]);

        if (list) {
            fw_deny_count(list, skb->len);
            fw_report_drop(skb, &pkt, direction, iface, FW_REASON_DENY_LISTED);
            return FW_REASON_DENY_LISTED;
        }
    }
    if (reason == FW_REASON_ICMP_CONTROL && fw_icmp_is_error(&pkt)) {
        reason = fw_icmp_error_verdict(data, data_end, &pkt, direction, iface);
        if (reason == FW_REASON_ICMP_UNMATCHED)
            fw_report_drop(skb, &pkt, direction, iface, reason);
        return reason;
    }
    if (reason != FW_PARSED)
        return reason;

    /* TCP needs no conntrack (lib/conntrack.h): its flags tell an opening SYN from the rest. */
    if (pkt.tuple.protocol == IPPROTO_TCP)
        return fw_tcp_is_opening(&pkt) ? fw_judge_new_connection(skb, &pkt, direction, iface)
                                       : FW_REASON_TCP_ESTABLISHED;

    reason = fw_ct_lookup(&pkt, bpf_jiffies64());
    if (reason != FW_CT_MISS)
        return reason;
    if (fw_is_set(iface) && fw_is_dhcp_client_exchange(&pkt, direction))
        return FW_REASON_DHCP;
    return fw_judge_new_connection(skb, &pkt, direction, iface);
}

static __always_inline int fw_tc_verdict(struct __sk_buff* skb, __u32 reason) {
    fw_count(&fw_stats_v3, reason, skb->len);
    return fw_reason_is_drop(reason) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("tc")
int from_workload(struct __sk_buff* skb) {
    return fw_tc_verdict(skb, fw_judge(skb, FW_DIR_FROM_WORKLOAD));
}

SEC("tc")
int to_workload(struct __sk_buff* skb) {
    return fw_tc_verdict(skb, fw_judge(skb, FW_DIR_TO_WORKLOAD));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
