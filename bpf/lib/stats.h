/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef FW_BPF_STATS_H
#define FW_BPF_STATS_H

#include "common.h"

/* Per-CPU, so no atomics: user space sums the CPUs when it reads. */
static __always_inline void fw_count(void* stats_map, __u32 counter, __u64 bytes) {
    struct fw_counter_value* value = bpf_map_lookup_elem(stats_map, &counter);

    if (!value)
        return;
    value->packets += 1;
    value->bytes += bytes;
}

#endif /* FW_BPF_STATS_H */
