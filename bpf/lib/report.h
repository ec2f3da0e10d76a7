/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events to user space with de-duplication in the kernel: at most one event per (flow,
 * kind, and for drops reason) per interval, the next one carrying how many were folded in. A flood of attempts
 * then costs a map lookup each, not a ring buffer slot each.
 */
#ifndef FW_BPF_REPORT_H
#define FW_BPF_REPORT_H

#include "maps.h"
#include "parse.h"
#include "stats.h"

const volatile __u64 fw_dedup_interval_ns = 5 * NSEC_PER_SEC;

struct fw_report {
    const struct fw_packet* pkt;
    const struct fw_policy_key* flow;
    __u32 kind;
    __u32 reason;
    __u32 direction;
    __u32 ifindex;
};

static __always_inline void fw_report_send(const struct fw_report* report, __u64 now) {
    /* Drops are folded per reason: a forged attempt (the interface names its sender, so it
     * shares the flow of the sender's own) must not hide behind an earlier blocked one. */
    struct fw_dedup_key dedup_key = {
        .flow = *report->flow,
        .kind = report->kind == FW_EVENT_DROP ? FW_DEDUP_KIND_DROP(report->reason) : report->kind,
    };
    struct fw_dedup_value* last = bpf_map_lookup_elem(&fw_dedup_v1, &dedup_key);
    const struct fw_tuple* tuple = &report->pkt->tuple;
    struct fw_event* event;
    __u32 suppressed = 0;

    if (last && now - last->last_report_ns < fw_dedup_interval_ns) {
        __sync_fetch_and_add(&last->suppressed, 1);
        fw_count(&fw_stats_v3, FW_CTR_EVENTS_SUPPRESSED, 0);
        return;
    }

    event = bpf_ringbuf_reserve(&fw_events_v1, sizeof(*event), 0);
    if (!event) {
        /* The dedup entry stays as it was, so the next attempt tries again. */
        fw_count(&fw_stats_v3, FW_CTR_EVENTS_LOST, 0);
        return;
    }

    if (last) {
        suppressed = __sync_lock_test_and_set(&last->suppressed, 0);
        last->last_report_ns = now;
    } else {
        struct fw_dedup_value first = {.last_report_ns = now};

        bpf_map_update_elem(&fw_dedup_v1, &dedup_key, &first, BPF_ANY);
    }

    event->timestamp_ns = now;
    event->kind = report->kind;
    event->reason = report->reason;
    event->src_identity = report->flow->src_identity;
    event->dst_identity = report->flow->dst_identity;
    event->src_addr = tuple->src_addr;
    event->dst_addr = tuple->dst_addr;
    event->src_port = tuple->protocol == IPPROTO_TCP || tuple->protocol == IPPROTO_UDP
                          ? bpf_ntohs(tuple->src_port)
                          : 0;
    event->dst_port = report->flow->dst_port;
    event->protocol = tuple->protocol;
    event->family = tuple->family;
    event->direction = report->direction;
    event->pad = 0;
    event->ifindex = report->ifindex;
    event->suppressed = suppressed;
    bpf_ringbuf_submit(event, 0);
    fw_count(&fw_stats_v3, FW_CTR_EVENTS_SENT, 0);
}

#endif /* FW_BPF_REPORT_H */
