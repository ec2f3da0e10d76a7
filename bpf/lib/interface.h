/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The guard point's own knowledge: which workload sits behind the interface a packet crosses
 * (fw_ifaces_v1, filled by the daemon). The workload's end of a packet is judged by this
 * entry, never by the addresses the packet carries.
 */
#ifndef FW_BPF_INTERFACE_H
#define FW_BPF_INTERFACE_H

#include "maps.h"

/* Just the kernel fields read here, relocated by CO-RE against the running kernel's BTF
 * (the programs build without vmlinux.h). */
struct net {
    __u64 net_cookie;
} __attribute__((preserve_access_index));

typedef struct {
    struct net* net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
    possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sk_buff {
    struct net_device* dev;
} __attribute__((preserve_access_index));

extern void* bpf_cast_to_kern_ctx(void* obj) __ksym;

/* The cookie of the namespace of the device the packet crosses. Not bpf_get_netns_cookie():
 * on TC it answers for the socket that sent the packet (or the caller's namespace without
 * one), which in the host placement is the workload's namespace for some packets and the
 * host's for others. The device's namespace is where its ifindex means something.
 * bpf_cast_to_kern_ctx() (6.2+) is turned into a register move by the verifier; the reads
 * after it are plain loads. */
static __always_inline __u64 fw_device_netns_cookie(struct __sk_buff* skb) {
    struct sk_buff* kskb = bpf_cast_to_kern_ctx(skb);

    return kskb->dev->nd_net.net->net_cookie;
}

/* The entry of the interface skb crosses, or NULL when the daemon has not described it:
 * its slot in fw_ifslots_v1 when the slot holds it (the common case, an inlined array
 * lookup), else fw_ifaces_v1 (two interfaces on one slot, or an interface without entry). */
static __always_inline const struct fw_iface_info* fw_interface_of(struct __sk_buff* skb) {
    struct fw_iface_key key = {
        .netns_cookie = fw_device_netns_cookie(skb),
        .ifindex = skb->ifindex,
    };
    __u32 index = key.ifindex & (FW_IFACE_SLOTS - 1);
    struct fw_iface_slot* slot = bpf_map_lookup_elem(&fw_ifslots_v1, &index);

    if (slot && slot->key.ifindex == key.ifindex && slot->key.netns_cookie == key.netns_cookie)
        return &slot->info;
    return bpf_map_lookup_elem(&fw_ifaces_v1, &key);
}

/* Whether an entry was found, as a plain number: without the barrier, clang at -O1 may fold
 * the pointer into a bitwise expression with other conditions, which the verifier refuses
 * ("bitwise operator on pointer prohibited"). */
static __always_inline int fw_is_set(const struct fw_iface_info* iface) {
    int set = iface != NULL;

    asm volatile("" : "+r"(set));
    return set;
}

static __always_inline int fw_mac_equal(const __u8* a, const __u8* b) {
    return *(const __u32*)a == *(const __u32*)b && *(const __u16*)(a + 4) == *(const __u16*)(b + 4);
}

/* The Ethernet (or ARP, NDP option) source must be the workload's MAC, when known. */
static __always_inline int fw_iface_mac_ok(const struct fw_iface_info* iface, const __u8* mac) {
    return !(iface->flags & FW_IFACE_F_MAC_KNOWN) || fw_mac_equal(iface->mac, mac);
}

static __always_inline int fw_iface_owns_v4(const struct fw_iface_info* iface, __u32 addr) {
    __u32 count = iface->v4_count, i;

#pragma unroll
    for (i = 0; i < FW_IFACE_MAX_V4; i++) {
        if (i < count && iface->v4[i] == addr)
            return 1;
    }
    return 0;
}

/* Whole 16 bytes: an IPv4 address leaves the other 12 zero. */
static __always_inline int fw_addr_equal(const union fw_addr* a, const union fw_addr* b) {
    return ((a->v6[0] ^ b->v6[0]) | (a->v6[1] ^ b->v6[1]) | (a->v6[2] ^ b->v6[2]) |
            (a->v6[3] ^ b->v6[3])) == 0;
}

static __always_inline int fw_iface_owns_v6(const struct fw_iface_info* iface,
                                            const union fw_addr* addr) {
    __u32 count = iface->v6_count, i;

#pragma unroll
    for (i = 0; i < FW_IFACE_MAX_V6; i++) {
        if (i < count && fw_addr_equal(&iface->v6[i], addr))
            return 1;
    }
    return 0;
}

static __always_inline int fw_iface_owns(const struct fw_iface_info* iface, __u8 family,
                                         const union fw_addr* addr) {
    return family == FW_FAMILY_IPV4 ? fw_iface_owns_v4(iface, addr->v4)
                                    : fw_iface_owns_v6(iface, addr);
}

static __always_inline int fw_addr_is_unspecified(__u8 family, const union fw_addr* addr) {
    if (family == FW_FAMILY_IPV4)
        return addr->v4 == 0;
    return (addr->v6[0] | addr->v6[1] | addr->v6[2] | addr->v6[3]) == 0;
}

#endif /* FW_BPF_INTERFACE_H */
