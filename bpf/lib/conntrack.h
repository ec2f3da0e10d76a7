/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking: only the first packet of a connection is judged. One entry per
 * connection, keyed by the tuple of its first packet; replies find it by the reversed
 * tuple, so an established packet costs one lookup and a reply two.
 */
#ifndef FW_BPF_CONNTRACK_H
#define FW_BPF_CONNTRACK_H

#include "maps.h"
#include "parse.h"

/* Returned by fw_ct_lookup() when no live entry matches. */
#define FW_CT_MISS ((__u32)-1)

/* Idle timeouts; load-time settings (set through the skeleton before load). */
const volatile __u64 fw_ct_timeout_tcp_ns = 6 * 3600 * NSEC_PER_SEC;
const volatile __u64 fw_ct_timeout_other_ns = 60 * NSEC_PER_SEC;

static __always_inline int fw_ct_expired(const struct fw_ct_value *entry, __u8 protocol,
                                         __u64 now)
{
    __u64 timeout = protocol == IPPROTO_TCP ? fw_ct_timeout_tcp_ns : fw_ct_timeout_other_ns;

    return now - entry->last_seen_ns > timeout;
}

/* Writing last_seen on every packet would bounce the entry's cache line between CPUs;
 * once a second is precise enough for timeouts counted in minutes. */
static __always_inline void fw_ct_touch(struct fw_ct_value *entry, __u64 now)
{
    if (now - entry->last_seen_ns > NSEC_PER_SEC)
        entry->last_seen_ns = now;
}

static __always_inline void fw_ct_reverse(const struct fw_ct_key *key, struct fw_ct_key *out)
{
    out->src_addr = key->dst_addr;
    out->dst_addr = key->src_addr;
    out->src_port = key->dst_port;
    out->dst_port = key->src_port;
    out->protocol = key->protocol;
    out->family = key->family;
    out->pad[0] = 0;
    out->pad[1] = 0;
}

/* FW_REASON_CT_ESTABLISHED or FW_REASON_CT_REPLY for a packet of a live connection,
 * otherwise FW_CT_MISS. */
static __always_inline __u32 fw_ct_lookup(const struct fw_packet *pkt, __u64 now)
{
    struct fw_ct_value *entry;
    struct fw_ct_key reply;

    entry = bpf_map_lookup_elem(&fw_ct_v1, &pkt->tuple);
    if (entry && !fw_ct_expired(entry, pkt->tuple.protocol, now)) {
        fw_ct_touch(entry, now);
        return FW_REASON_CT_ESTABLISHED;
    }

    fw_ct_reverse(&pkt->tuple, &reply);
    entry = bpf_map_lookup_elem(&fw_ct_v1, &reply);
    if (entry && !fw_ct_expired(entry, pkt->tuple.protocol, now)) {
        fw_ct_touch(entry, now);
        if (!(entry->flags & FW_CT_F_REPLY_SEEN))
            __sync_fetch_and_or(&entry->flags, FW_CT_F_REPLY_SEEN);
        return FW_REASON_CT_REPLY;
    }
    return FW_CT_MISS;
}

/* Only a SYN without ACK opens a TCP connection; any other TCP packet without an entry
 * belongs to a connection older than the programs (a daemon restart must not cut it). */
static __always_inline int fw_tcp_is_midstream(const struct fw_packet *pkt)
{
    return pkt->tuple.protocol == IPPROTO_TCP &&
           (pkt->tcp_flags & (FW_TCP_SYN | FW_TCP_ACK)) != FW_TCP_SYN;
}

/* Returns 0, or FW_CTR_CT_FULL when the entry could not be stored. */
static __always_inline __u32 fw_ct_create(const struct fw_packet *pkt, __u32 src_identity,
                                          __u32 dst_identity, __u32 reason, __u64 now)
{
    struct fw_ct_value entry = {
        .last_seen_ns = now,
        .src_identity = src_identity,
        .dst_identity = dst_identity,
        .reason = reason,
    };

    if (bpf_map_update_elem(&fw_ct_v1, &pkt->tuple, &entry, BPF_ANY))
        return FW_CTR_CT_FULL;
    return 0;
}

#endif /* FW_BPF_CONNTRACK_H */
