/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict on a new connection: allowed if the model has its flow; otherwise the
 * modes of the two ends decide (DESIGN.md, "Datapath"):
 *   - either end learns           -> learned: allowed, added to the model, reported
 *   - else the strictest end mode -> block: dropped and reported
 *                                    alert: allowed and reported
 *                                    off:   allowed silently
 *   - neither end has a mode      -> allowed (no workload takes part)
 * Fail closed (FW_SETTINGS_F_FAIL_CLOSED): a connection whose workload end is unidentified
 * (its address has no ipcache entry) and that the model does not allow is dropped whatever
 * the modes say; learning from it would put `world` flows into the model.
 * An allocated identity whose mode is unset has the global default mode; reserved
 * identities (world, host) have no mode unless given one, and user space gives CIDR
 * entities none.
 */
#ifndef FW_BPF_VERDICT_H
#define FW_BPF_VERDICT_H

#include "maps.h"

static __always_inline __u32 fw_mode_of(__u32 identity, __u32 default_mode) {
    struct fw_mode_value* value = bpf_map_lookup_elem(&fw_modes_v1, &identity);

    if (value && value->mode != FW_MODE_UNSET)
        return value->mode;
    return identity >= FW_ID_FIRST_ALLOCATED ? default_mode : FW_MODE_UNSET;
}

static __always_inline __u32 fw_verdict_outside_model(__u32 src_identity, __u32 dst_identity,
                                                      int workload_unidentified) {
    __u32 zero = 0, default_mode = FW_MODE_UNSET, src_mode, dst_mode, strictest;
    struct fw_settings* settings = bpf_map_lookup_elem(&fw_settings_v1, &zero);

    if (settings) {
        if (workload_unidentified && (settings->flags & FW_SETTINGS_F_FAIL_CLOSED))
            return FW_REASON_FAIL_CLOSED;
        default_mode = settings->default_mode;
    }
    src_mode = fw_mode_of(src_identity, default_mode);
    dst_mode = fw_mode_of(dst_identity, default_mode);

    if (src_mode == FW_MODE_LEARN || dst_mode == FW_MODE_LEARN)
        return FW_REASON_LEARNED;

    strictest = src_mode > dst_mode ? src_mode : dst_mode;
    switch (strictest) {
    case FW_MODE_BLOCK:
        return FW_REASON_BLOCKED;
    case FW_MODE_ALERT:
        return FW_REASON_ALERT;
    case FW_MODE_OFF:
        return FW_REASON_MODE_OFF;
    default:
        return FW_REASON_NO_WORKLOAD;
    }
}

/* workload_unidentified: the end of the connection that is the guarded workload itself has
 * no ipcache entry (see fw_settings.flags). */
static __always_inline __u32 fw_verdict_new_flow(const struct fw_policy_key* flow,
                                                 int workload_unidentified) {
    if (bpf_map_lookup_elem(&fw_policy_v1, flow))
        return FW_REASON_POLICY_ALLOW;
    return fw_verdict_outside_model(flow->src_identity, flow->dst_identity,
                                    workload_unidentified);
}

/* The model grows in the kernel at once, so the end of learning is a mode flip and a lost
 * event never loses a flow (user space also reads the map). Returns 0 or
 * FW_CTR_POLICY_FULL. */
static __always_inline __u32 fw_policy_learn(const struct fw_policy_key* flow) {
    struct fw_policy_value value = {.flags = FW_POLICY_F_LEARNED};
    long err = bpf_map_update_elem(&fw_policy_v1, flow, &value, BPF_NOEXIST);

    if (err && err != -17 /* EEXIST: another CPU learned it first */)
        return FW_CTR_POLICY_FULL;
    return 0;
}

#endif /* FW_BPF_VERDICT_H */
