/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors (ICMP 3, 4, 5, 11, 12; ICMPv6 1-4) quote the start of the packet they answer.
 * One passes only when that packet belongs to a flow flowwall lets through between the same
 * two ends; otherwise an error is a free channel around the model (any payload, any two
 * workloads) and a way to tear down or re-route others' connections. Path MTU discovery
 * (fragmentation needed, packet too big) is such an error and passes for real flows.
 *
 * "The same two ends": the quoted packet was sent by the error's destination (its source is
 * the error's destination). A router on the path may send the error, so the error's source
 * may differ from the quoted destination, but not when a workload sends one: a workload
 * answers only for packets addressed to it.
 *
 * "A flow flowwall lets through": UDP and ICMP echo, a live conntrack entry either way round;
 * otherwise (TCP is not tracked) the quoted flow judged as a new connection would be, in
 * either direction (the quoted packet may be a reply), without learning or reporting: in the
 * model, or outside it with a passing mode (alert, off, no workload). Learn and block modes
 * pass no error for a flow outside the model: a learned flow is in it.
 */
#ifndef FW_BPF_ICMP_ERROR_H
#define FW_BPF_ICMP_ERROR_H

#include "conntrack.h"
#include "identity.h"
#include "interface.h"
#include "parse.h"
#include "verdict.h"

/* Extension headers walked in a quoted IPv6 packet: what a real one carries. */
#define FW_MAX_QUOTE_EXT 3

static __always_inline int fw_icmp_is_error(const struct fw_packet* pkt) {
    if (pkt->tuple.protocol == IPPROTO_ICMP)
        return pkt->icmp_type == FW_ICMP_DEST_UNREACH || pkt->icmp_type == FW_ICMP_SOURCE_QUENCH ||
               pkt->icmp_type == FW_ICMP_REDIRECT || pkt->icmp_type == FW_ICMP_TIME_EXCEEDED ||
               pkt->icmp_type == FW_ICMP_PARAMETERPROB;
    return pkt->tuple.protocol == IPPROTO_ICMPV6 && pkt->icmp_type >= 1 && pkt->icmp_type <= 4;
}

/* The quoted packet's tuple from the bytes after the 8-byte ICMP header: its IP header and
 * at least 8 bytes of its transport header (RFC 792, 4443). 0 when it is not there. */
static __always_inline int fw_quoted_tuple(void* quote, void* data_end, __u8 family,
                                           struct fw_tuple* inner) {
    void* l4 = quote;
    __u8 protocol = 0;

    if (family == FW_FAMILY_IPV4) {
        struct iphdr* ip = quote;

        if ((void*)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
            return 0;
        inner->src_addr.v4 = ip->saddr;
        inner->dst_addr.v4 = ip->daddr;
        protocol = ip->protocol;
        l4 = quote + ip->ihl * 4;
    } else {
        struct ipv6hdr* ip6 = quote;
        int i;

        if ((void*)(ip6 + 1) > data_end || ip6->version != 6)
            return 0;
        __builtin_memcpy(inner->src_addr.bytes, &ip6->saddr, 16);
        __builtin_memcpy(inner->dst_addr.bytes, &ip6->daddr, 16);
        protocol = ip6->nexthdr;
        l4 = (void*)(ip6 + 1);
        /* The usual extension headers a real packet carries (hop-by-hop, routing, destination
         * options, a first fragment), up to FW_MAX_QUOTE_EXT; a quote with more, or of a later
         * fragment (no ports), does not pass. */
        for (i = 0; i < FW_MAX_QUOTE_EXT; i++) {
            struct ipv6_opt_hdr* opt = l4;

            if (protocol != IPPROTO_HOPOPTS && protocol != IPPROTO_ROUTING &&
                protocol != IPPROTO_DSTOPTS && protocol != IPPROTO_FRAGMENT)
                break;
            if ((void*)(opt + 1) > data_end)
                return 0;
            if (protocol == IPPROTO_FRAGMENT) {
                struct fw_ipv6_frag_hdr* frag = l4;

                if ((void*)(frag + 1) > data_end || (frag->frag_off & bpf_htons(FW_IP6_OFFSET)))
                    return 0;
                l4 += sizeof(*frag);
            } else {
                l4 += (opt->hdrlen + 1) * 8;
            }
            protocol = opt->nexthdr;
        }
        if (protocol == IPPROTO_HOPOPTS || protocol == IPPROTO_ROUTING ||
            protocol == IPPROTO_DSTOPTS || protocol == IPPROTO_FRAGMENT)
            return 0;
    }
    if (l4 + 8 > data_end)
        return 0;
    inner->family = family;
    inner->protocol = protocol;
    switch (protocol) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
        inner->src_port = ((__be16*)l4)[0];
        inner->dst_port = ((__be16*)l4)[1];
        return 1;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
        struct fw_icmp_hdr* icmp = l4;
        int echo =
            protocol == IPPROTO_ICMP ? fw_icmp_is_echo(icmp->type) : fw_icmpv6_is_echo(icmp->type);

        if (!echo)
            return 0; /* an error about an error is never sent (RFC 1122, 4443) */
        inner->src_port = icmp->echo_id;
        inner->dst_port = icmp->echo_id;
        return 1;
    }
    default:
        return 1; /* other protocols: ports 0, as their connections are judged */
    }
}

static __always_inline int fw_ct_has(const struct fw_tuple* tuple, __u64 now) {
    struct fw_ct_value* entry = fw_ct_find(tuple, 0);

    if (entry && !fw_ct_expired(entry, now))
        return 1;
    entry = fw_ct_find(tuple, 1);
    return entry && !fw_ct_expired(entry, now);
}

/* Would a new connection src -> dst on port (host order) pass, without side effects? */
static __always_inline int fw_flow_would_pass(__u32 src_identity, __u32 dst_identity, __u16 port,
                                              __u8 protocol) {
    struct fw_policy_key flow = {
        .src_identity = src_identity,
        .dst_identity = dst_identity,
        .dst_port = port,
        .protocol = protocol,
    };
    __u32 reason;

    if (bpf_map_lookup_elem(&fw_policy_v1, &flow))
        return 1;
    reason = fw_verdict_outside_model(src_identity, dst_identity, 0);
    return reason == FW_REASON_ALERT || reason == FW_REASON_MODE_OFF ||
           reason == FW_REASON_NO_WORKLOAD;
}

/* FW_REASON_ICMP_CONTROL (pass) or FW_REASON_ICMP_UNMATCHED (drop) for the ICMP error pkt.
 * iface: the guarded workload's entry, or NULL; its identity stands for its end. */
static __always_inline __u32 fw_icmp_error_verdict(void* data, void* data_end,
                                                   const struct fw_packet* pkt, __u32 direction,
                                                   const struct fw_iface_info* iface) {
    struct fw_tuple inner = {};
    __u32 src_identity, dst_identity;
    __u8 in_ipcache;
    void* l4 = fw_l4_header(data, pkt);
    int has_ports;

    if (!l4 || !fw_quoted_tuple(l4 + 8, data_end, pkt->tuple.family, &inner))
        return FW_REASON_ICMP_UNMATCHED;
    if (!fw_addr_equal(&inner.src_addr, &pkt->tuple.dst_addr))
        return FW_REASON_ICMP_UNMATCHED;
    if (direction == FW_DIR_FROM_WORKLOAD && !fw_addr_equal(&inner.dst_addr, &pkt->tuple.src_addr))
        return FW_REASON_ICMP_UNMATCHED;

    has_ports = inner.protocol == IPPROTO_TCP || inner.protocol == IPPROTO_UDP;
    if (inner.protocol != IPPROTO_TCP && fw_ct_has(&inner, bpf_jiffies64()))
        return FW_REASON_ICMP_CONTROL;

    /* The quoted packet went from the error's destination to the quoted destination. */
    src_identity = direction == FW_DIR_TO_WORKLOAD && fw_is_set(iface)
                       ? iface->identity
                       : fw_identity_of(inner.family, &inner.src_addr, &in_ipcache);
    dst_identity = direction == FW_DIR_FROM_WORKLOAD && fw_is_set(iface)
                       ? iface->identity
                       : fw_identity_of(inner.family, &inner.dst_addr, &in_ipcache);
    if (fw_flow_would_pass(src_identity, dst_identity, has_ports ? bpf_ntohs(inner.dst_port) : 0,
                           inner.protocol) ||
        fw_flow_would_pass(dst_identity, src_identity, has_ports ? bpf_ntohs(inner.src_port) : 0,
                           inner.protocol))
        return FW_REASON_ICMP_CONTROL;
    return FW_REASON_ICMP_UNMATCHED;
}

#endif /* FW_BPF_ICMP_ERROR_H */
