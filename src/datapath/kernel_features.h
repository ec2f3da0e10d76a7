// SPDX-License-Identifier: Apache-2.0
// What the running kernel offers the datapath, probed once at start, so that a missing feature
// is reported plainly ("BPF ring buffer (Linux 5.8)") instead of as a failure deep in libbpf.
#pragma once

#include "src/common/result.h"

#include <linux/bpf.h>

#include <string>

namespace flowwall::datapath {

// linux-libc-dev 6.1 predates tcx (Linux 6.6); values from the 6.6 uapi enum bpf_attach_type.
inline constexpr auto kAttachTcxIngress = static_cast<bpf_attach_type>(46); // BPF_TCX_INGRESS
inline constexpr auto kAttachTcxEgress = static_cast<bpf_attach_type>(47);  // BPF_TCX_EGRESS

struct KernelFeatures {
    bool bpf_syscall = false;  // bpf(2) usable by this process
    bool btf = false;          // kernel BTF at /sys/kernel/btf/vmlinux (CO-RE)
    bool ringbuf = false;      // BPF_MAP_TYPE_RINGBUF
    bool lpm_trie = false;     // BPF_MAP_TYPE_LPM_TRIE
    bool lru_hash = false;     // BPF_MAP_TYPE_LRU_HASH
    bool sched_cls = false;    // BPF_PROG_TYPE_SCHED_CLS
    bool xdp = false;          // BPF_PROG_TYPE_XDP
    bool tcx = false;          // tcx links on TC hooks; without them flowwall uses clsact
    bool ktime_coarse = false; // helper bpf_ktime_get_coarse_ns
    std::string kernel_release;
    // Set when probing itself failed (typically EPERM when not root): the flags above then
    // say "unknown", not "missing".
    int probe_errno = 0;
};

// Loads and creates nothing that outlives the call; attaches nothing.
KernelFeatures probe_kernel_features();

// tcx alone, in the calling thread's network namespace. Rule: bpf_prog_query(lo,
// BPF_TCX_INGRESS) returns 0 on Linux >= 6.6 (count 0 when nothing is attached) and EINVAL
// before, where the attach type is unknown; anything else (EPERM) is an error.
Result<bool> probe_tcx();

// OK when every feature the datapath cannot do without is there; otherwise one error that
// lists all missing ones with the Linux version that brought each. tcx is not required.
Status require_datapath_features(const KernelFeatures& features);

// Effective capabilities include CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN.
Status check_privileges();

} // namespace flowwall::datapath
