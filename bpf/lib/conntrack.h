/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking for UDP and ICMP: only the first packet of a flow is judged. One entry
 * per flow, keyed by the tuple of its first packet, in the map of its family; replies find it
 * by the reversed tuple, so a later packet costs one lookup and a reply two.
 *
 * TCP is not tracked: a TCP packet says itself whether it opens a connection (a bare SYN),
 * and every other TCP packet passes anyway, because it belongs to a connection whose SYN was
 * judged or to one older than the programs, which a daemon restart must not cut. An entry
 * would change no verdict; it would cost a lookup on every packet, an insert per connection
 * and room in the LRU that UDP flows need.
 */
#ifndef FW_BPF_CONNTRACK_H
#define FW_BPF_CONNTRACK_H

#include "maps.h"
#include "parse.h"

/* Returned by fw_ct_lookup() when no live entry matches. */
#define FW_CT_MISS ((__u32)-1)

/* Idle timeout in jiffies; a load-time setting, converted by user space, which knows the
 * kernel's HZ. The default assumes HZ=250. */
const volatile __u64 fw_ct_timeout_jiffies = 60 * 250;

static __always_inline int fw_ct_expired(const struct fw_ct_value* entry, __u64 now) {
    return now - entry->last_seen_jiffies > fw_ct_timeout_jiffies;
}

/* Writing last_seen on every packet would bounce the entry's cache line between CPUs;
 * a refresh every ~second is precise enough for timeouts counted in minutes. */
static __always_inline void fw_ct_touch(struct fw_ct_value* entry, __u64 now) {
    if (now - entry->last_seen_jiffies > FW_CT_REFRESH_JIFFIES)
        entry->last_seen_jiffies = now;
}

/* The entry of the connection `tuple` opened (reversed: the one its peer opened). */
static __always_inline struct fw_ct_value* fw_ct_find(const struct fw_tuple* tuple, int reversed) {
    if (tuple->family == FW_FAMILY_IPV4) {
        struct fw_ct4_key key = {
            .src_addr = reversed ? tuple->dst_addr.v4 : tuple->src_addr.v4,
            .dst_addr = reversed ? tuple->src_addr.v4 : tuple->dst_addr.v4,
            .src_port = reversed ? tuple->dst_port : tuple->src_port,
            .dst_port = reversed ? tuple->src_port : tuple->dst_port,
            .protocol = tuple->protocol,
        };
        return bpf_map_lookup_elem(&fw_ct4_v1, &key);
    }
    struct fw_ct6_key key = {
        .src_addr = reversed ? tuple->dst_addr : tuple->src_addr,
        .dst_addr = reversed ? tuple->src_addr : tuple->dst_addr,
        .src_port = reversed ? tuple->dst_port : tuple->src_port,
        .dst_port = reversed ? tuple->src_port : tuple->dst_port,
        .protocol = tuple->protocol,
    };
    return bpf_map_lookup_elem(&fw_ct6_v1, &key);
}

/* FW_REASON_CT_ESTABLISHED or FW_REASON_CT_REPLY for a packet of a live connection,
 * otherwise FW_CT_MISS. `now` is in jiffies. */
static __always_inline __u32 fw_ct_lookup(const struct fw_packet* pkt, __u64 now) {
    struct fw_ct_value* entry = fw_ct_find(&pkt->tuple, 0);

    if (entry && !fw_ct_expired(entry, now)) {
        fw_ct_touch(entry, now);
        return FW_REASON_CT_ESTABLISHED;
    }

    entry = fw_ct_find(&pkt->tuple, 1);
    if (entry && !fw_ct_expired(entry, now)) {
        fw_ct_touch(entry, now);
        if (!(entry->flags & FW_CT_F_REPLY_SEEN))
            __sync_fetch_and_or(&entry->flags, FW_CT_F_REPLY_SEEN);
        return FW_REASON_CT_REPLY;
    }
    return FW_CT_MISS;
}

/* Only a SYN without ACK opens a TCP connection (a retransmitted one is judged again and
 * gets the same verdict). */
static __always_inline int fw_tcp_is_opening(const struct fw_packet* pkt) {
    return (pkt->tcp_flags & (FW_TCP_SYN | FW_TCP_ACK)) == FW_TCP_SYN;
}

/* Returns 0, or FW_CTR_CT_FULL when the entry could not be stored. */
static __always_inline __u32 fw_ct_create(const struct fw_packet* pkt, __u32 src_identity,
                                          __u32 dst_identity, __u32 reason, __u64 now) {
    const struct fw_tuple* tuple = &pkt->tuple;
    struct fw_ct_value entry = {
        .last_seen_jiffies = now,
        .src_identity = src_identity,
        .dst_identity = dst_identity,
        .reason = reason,
    };
    long err;

    if (tuple->family == FW_FAMILY_IPV4) {
        struct fw_ct4_key key = {
            .src_addr = tuple->src_addr.v4,
            .dst_addr = tuple->dst_addr.v4,
            .src_port = tuple->src_port,
            .dst_port = tuple->dst_port,
            .protocol = tuple->protocol,
        };
        err = bpf_map_update_elem(&fw_ct4_v1, &key, &entry, BPF_ANY);
    } else {
        struct fw_ct6_key key = {
            .src_addr = tuple->src_addr,
            .dst_addr = tuple->dst_addr,
            .src_port = tuple->src_port,
            .dst_port = tuple->dst_port,
            .protocol = tuple->protocol,
        };
        err = bpf_map_update_elem(&fw_ct6_v1, &key, &entry, BPF_ANY);
    }
    return err ? FW_CTR_CT_FULL : 0;
}

#endif /* FW_BPF_CONNTRACK_H */
