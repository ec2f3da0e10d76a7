/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Headers and small definitions every flowwall BPF program uses. */
#ifndef FW_BPF_COMMON_H
#define FW_BPF_COMMON_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flowwall/abi.h"

#define NSEC_PER_SEC 1000000000ULL

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

#endif /* FW_BPF_COMMON_H */
