// SPDX-License-Identifier: Apache-2.0
// The BPF programs and this library compile abi.h with different compilers and targets;
// these checks make sure both lay the structs out the same way. A failure here means a
// field was added without thinking about padding: fix abi.h, bump the map versions.
#include <cstddef>

#include "flowwall/abi.h"

namespace flowwall::datapath {

static_assert(sizeof(fw_addr) == 16);

static_assert(sizeof(fw_ipcache_key) == 20);
static_assert(offsetof(fw_ipcache_key, addr) == 4);
static_assert(sizeof(fw_identity_info) == 8);

static_assert(sizeof(fw_cidr_key) == 24);
static_assert(offsetof(fw_cidr_key, family) == 4);
static_assert(offsetof(fw_cidr_key, addr) == 8);

static_assert(sizeof(fw_policy_key) == 12);
static_assert(offsetof(fw_policy_key, dst_port) == 8);
static_assert(offsetof(fw_policy_key, protocol) == 10);
static_assert(sizeof(fw_policy_value) == 4);

static_assert(sizeof(fw_mode_value) == 4);
static_assert(sizeof(fw_settings) == 8);

static_assert(sizeof(fw_ct4_key) == 16);
static_assert(offsetof(fw_ct4_key, src_port) == 8);
static_assert(offsetof(fw_ct4_key, protocol) == 12);
static_assert(sizeof(fw_ct6_key) == 40);
static_assert(offsetof(fw_ct6_key, src_port) == 32);
static_assert(offsetof(fw_ct6_key, protocol) == 36);
static_assert(sizeof(fw_ct_value) == 24);

static_assert(sizeof(fw_dedup_key) == 16);
static_assert(sizeof(fw_dedup_value) == 16);

static_assert(sizeof(fw_counter_value) == 16);

static_assert(sizeof(fw_deny_control) == 8);
static_assert(sizeof(fw_deny_value) == 4);
static_assert(sizeof(fw_deny_lengths) == 24);
static_assert(FW_DENY_FILTER_WORDS * 64 == FW_DENY_V4_FILTER_BITS + (1u << FW_DENY_V6_FILTER_LOG));

static_assert(sizeof(fw_iface_key) == 16);
static_assert(offsetof(fw_iface_key, ifindex) == 8);
static_assert(sizeof(fw_iface_info) == 128);
static_assert(offsetof(fw_iface_info, mac) == 8);
static_assert(offsetof(fw_iface_info, v4_count) == 14);
static_assert(offsetof(fw_iface_info, v4) == 16);
static_assert(offsetof(fw_iface_info, v6) == 32);
static_assert(sizeof(fw_iface_slot) == 144);
static_assert(offsetof(fw_iface_slot, info) == 16);
static_assert((FW_IFACE_SLOTS & (FW_IFACE_SLOTS - 1)) == 0, "slots are ifindex & (N - 1)");

static_assert(sizeof(fw_event) == 72);
static_assert(offsetof(fw_event, src_addr) == 24);
static_assert(offsetof(fw_event, dst_addr) == 40);
static_assert(offsetof(fw_event, src_port) == 56);
static_assert(offsetof(fw_event, protocol) == 60);
static_assert(offsetof(fw_event, ifindex) == 64);
static_assert(offsetof(fw_event, suppressed) == 68);

// Counters extend the reasons; the BPF side indexes one array with both.
static_assert(static_cast<int>(FW_CTR_EVENTS_SENT) == static_cast<int>(FW_REASON_MAX));
static_assert(FW_CTR_MAX == FW_CTR_CT_FULL + 1);
static_assert(FW_REASON_DHCP < FW_REASON_MAX, "reasons past the room move every counter");
static_assert(FW_MODE_OFF < FW_MODE_ALERT && FW_MODE_ALERT < FW_MODE_BLOCK,
              "bpf/lib/verdict.h picks the strictest mode with max()");

} // namespace flowwall::datapath
