// SPDX-License-Identifier: Apache-2.0
// flowwall's cls_bpf filter on one side of an interface's clsact qdisc, and the qdisc itself:
// created only if absent, removed only if this process created it and no filter is left on
// either side. Whether others still use the qdisc is read with a raw rtnetlink RTM_GETTFILTER
// dump, since libbpf can query a filter whose handle and priority it knows but not list others.
//
// Everything here talks rtnetlink in the calling thread's network namespace: call it inside
// run_in_netns().
#pragma once

#include "src/common/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flowwall::datapath {

// tcm_parent of the two sides of a clsact qdisc: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS/EGRESS).
inline constexpr uint32_t kClsactIngressParent = 0xFFFFFFF2U;
inline constexpr uint32_t kClsactEgressParent = 0xFFFFFFF3U;

// flowwall's filter sits at this fixed priority and handle on either side, so that detach (and
// a restarted daemon) finds exactly flowwall's filter among others. The priority is low so that
// it runs before filters added with tc's automatic priorities (49152 and down). Consequence:
// one flowwall filter per side and interface.
inline constexpr uint32_t kFlowwallTcPriority = 0xF1;
inline constexpr uint32_t kFlowwallTcHandle = 0xF1;

// One entry of the dump. A filter appears as one entry per node it has (a cls_bpf filter as a
// header with handle 0 plus its node; u32 also lists its hash tables).
struct TcFilterEntry {
    uint32_t handle = 0;
    uint16_t priority = 0;
    uint16_t protocol = 0; // host byte order, e.g. ETH_P_ALL
    std::string kind;      // "bpf", "u32", "matchall"...
};

// The filters on parent (kClsactIngressParent or kClsactEgressParent) of ifindex. No qdisc:
// an empty list.
Result<std::vector<TcFilterEntry>> list_tc_filters(int ifindex, uint32_t parent);

// Whether flowwall's filter (its priority, kind bpf) is on parent of ifindex.
Result<bool> flowwall_filter_present(int ifindex, uint32_t parent);

// Creates the clsact qdisc of ifindex if absent, then puts prog_fd in flowwall's filter on
// parent, taking over a flowwall filter left there by a previous daemon. netns_path only keys
// which qdiscs this process created.
Status attach_flowwall_filter(const std::string& netns_path, int ifindex, uint32_t parent,
                              int prog_fd);

// Switches flowwall's filter to prog_fd atomically (cls_bpf replaces its program in place).
Status replace_flowwall_filter_program(int ifindex, uint32_t parent, int prog_fd);

// Removes flowwall's filter, then the qdisc if this process created it and nothing else uses
// it. A filter, interface or qdisc that is already gone counts as removed.
Status detach_flowwall_filter(const std::string& netns_path, int ifindex, uint32_t parent);

} // namespace flowwall::datapath
