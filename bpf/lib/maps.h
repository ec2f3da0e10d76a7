/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps of the TC firewall object. Layouts come from flowwall/abi.h; capacities here
 * are defaults that the loader may change before load. The loader pins every map by the
 * name it has here (see FW_MAP_* in abi.h: the names must agree, the loader checks).
 */
#ifndef FW_BPF_MAPS_H
#define FW_BPF_MAPS_H

#include "common.h"

/* Exact addresses of workloads and of the node: the hot path, so a hash, not a trie. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FW_DEFAULT_IPCACHE_ENTRIES);
    __type(key, struct fw_ipcache_key);
    __type(value, struct fw_identity_info);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} fw_ipcache_v1 SEC(".maps");

/* CIDR entities: consulted only when the exact lookup misses. */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, FW_DEFAULT_CIDR_ENTRIES);
    __type(key, struct fw_cidr_key);
    __type(value, struct fw_identity_info);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} fw_cidr_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FW_DEFAULT_POLICY_ENTRIES);
    __type(key, struct fw_policy_key);
    __type(value, struct fw_policy_value);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} fw_policy_v1 SEC(".maps");

/* Indexed by identity: an array lookup is inlined by the JIT. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FW_DEFAULT_MODES_ENTRIES);
    __type(key, __u32);
    __type(value, struct fw_mode_value);
} fw_modes_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fw_settings);
} fw_settings_v1 SEC(".maps");

/* UDP and ICMP flows (TCP is not tracked). LRU: when full, the least recently used flow is
 * forgotten instead of new ones being refused; its next packet from the opening side is
 * judged again, and a reply that comes first is judged as a new flow of its own. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FW_DEFAULT_CT_ENTRIES);
    __type(key, struct fw_ct4_key);
    __type(value, struct fw_ct_value);
} fw_ct4_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FW_DEFAULT_CT_ENTRIES);
    __type(key, struct fw_ct6_key);
    __type(value, struct fw_ct_value);
} fw_ct6_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FW_DEFAULT_DEDUP_ENTRIES);
    __type(key, struct fw_dedup_key);
    __type(value, struct fw_dedup_value);
} fw_dedup_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, FW_DEFAULT_EVENTS_BYTES);
} fw_events_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FW_CTR_MAX);
    __type(key, __u32);
    __type(value, struct fw_counter_value);
} fw_stats_v3 SEC(".maps");

/* The workload behind each guarded interface (abi.h, struct fw_iface_key): looked up once
 * per packet, before anything the packet says is believed. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FW_DEFAULT_IFACES_ENTRIES);
    __type(key, struct fw_iface_key);
    __type(value, struct fw_iface_info);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} fw_ifaces_v1 SEC(".maps");

/* Its fast path (abi.h, struct fw_iface_slot). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FW_IFACE_SLOTS);
    __type(key, __u32);
    __type(value, struct fw_iface_slot);
} fw_ifslots_v1 SEC(".maps");

#endif /* FW_BPF_MAPS_H */
