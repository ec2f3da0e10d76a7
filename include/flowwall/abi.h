/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between flowwall's eBPF programs and user space.
 *
 * Included by the programs in bpf/ and by C++; plain C with fixed-width types only. Every map key,
 * map value and event record is defined here once. A change to any layout bumps
 * FW_ABI_VERSION and the version suffix of the maps it touches, so a new daemon never
 * reuses a pinned map whose layout it does not understand.
 *
 * Byte order: addresses are network order (as on the wire). Ports are network order in
 * the connection-tracking key (copied from the packet) and host order everywhere a human
 * or the model sees them (policy key, events).
 */
#ifndef FLOWWALL_ABI_H
#define FLOWWALL_ABI_H

#include <linux/types.h>

/* 2: fw_ifaces_v1 (interface -> workload), reasons 16-21, reasons room up to 32 (counters
 * moved to 32 and up: fw_stats_v3, fw_xstats_v3). */
/* 3: deny lists (fw_dctl_v1 ... fw_dstats_v1) replace the single trie fw_deny_v1; reason 22. */
#define FW_ABI_VERSION 3

/* Map names, used as pin names under the bpffs directory. Kept under 16 characters so
 * the kernel's copy of the name is the whole name. */
#define FW_MAP_IPCACHE   "fw_ipcache_v1"  /* exact workload address -> identity */
#define FW_MAP_CIDR      "fw_cidr_v1"     /* prefix (CIDR entity) -> identity */
#define FW_MAP_POLICY    "fw_policy_v1"   /* allowed flows: the model in the kernel */
#define FW_MAP_MODES     "fw_modes_v1"    /* identity -> mode (array indexed by identity) */
#define FW_MAP_SETTINGS  "fw_settings_v1" /* run-time settings, one entry */
#define FW_MAP_CT4       "fw_ct4_v1"      /* connection tracking, IPv4 */
#define FW_MAP_CT6       "fw_ct6_v1"      /* connection tracking, IPv6 */
#define FW_MAP_DEDUP     "fw_dedup_v1"    /* last report per flow key, for de-duplication */
#define FW_MAP_EVENTS    "fw_events_v1"   /* ring buffer of struct fw_event */
/* v2: reason 15 (fail_closed) moved every non-reason counter up by one. v3: reasons 16-21
 * and room for reasons up to 31: the other counters start at 32. No conversion: an older map
 * is unpinned and the counters start again at 0 (Prometheus handles the reset). */
#define FW_MAP_STATS     "fw_stats_v3"    /* per-CPU counters, indexed by enum fw_counter */
#define FW_MAP_XDP_STATS "fw_xstats_v3"   /* XDP: per-CPU counters (v3: as fw_stats) */
#define FW_MAP_IFACES    "fw_ifaces_v1"   /* guarded interface -> the workload behind it */
#define FW_MAP_IFSLOTS   "fw_ifslots_v1"  /* fw_ifaces_v1's fast path, indexed by ifindex */
/* Deny lists (issue 17), shared by the XDP prefilter and the TC firewall: see "Deny lists"
 * below for the layout. */
#define FW_MAP_DENY_CONTROL  "fw_dctl_v1"   /* which generation is live */
#define FW_MAP_DENY_PREFIXES "fw_dpfx_v1"   /* outer: generation -> prefix hash */
#define FW_MAP_DENY_FILTER   "fw_dfilt_v1"  /* outer: generation -> negative-check bitmap */
#define FW_MAP_DENY_LENGTHS  "fw_dlens_v1"  /* outer: generation -> prefix lengths per block */
#define FW_MAP_DENY_ALLOW    "fw_dallow_v1" /* prefixes never denied (LPM trie) */
#define FW_MAP_DENY_STATS    "fw_dstats_v1" /* per-CPU counters, indexed by list id */

/* Program names (the C function names in bpf/). */
#define FW_PROG_FROM_WORKLOAD    "from_workload"
#define FW_PROG_TO_WORKLOAD      "to_workload"
#define FW_PROG_UPLINK_PREFILTER "uplink_prefilter"

/* Default capacities; user space may change them before load. */
#define FW_DEFAULT_IPCACHE_ENTRIES 65536
#define FW_DEFAULT_CIDR_ENTRIES    16384
#define FW_DEFAULT_POLICY_ENTRIES  131072
#define FW_DEFAULT_MODES_ENTRIES   65536  /* identities beyond it take the default mode */
#define FW_DEFAULT_CT_ENTRIES      262144 /* per family */
#define FW_DEFAULT_DEDUP_ENTRIES   16384
#define FW_DEFAULT_EVENTS_BYTES    (1u << 20)
#define FW_DEFAULT_DENY_ALLOW_ENTRIES 4096
#define FW_DEFAULT_IFACES_ENTRIES  16384

/* Identities. Names live in user space; the kernel sees only these numbers. */
enum fw_reserved_identity {
    FW_ID_UNKNOWN = 0, /* never looked up successfully; not used as a map value */
    FW_ID_HOST = 1,    /* the node itself */
    FW_ID_WORLD = 2,   /* any address no workload or CIDR entity owns */
    FW_ID_FIRST_ALLOCATED = 256,
};

enum fw_family {
    FW_FAMILY_IPV4 = 4,
    FW_FAMILY_IPV6 = 6,
};

/* An IPv4 address uses v4 and leaves the other 12 bytes zero. */
union fw_addr {
    __u32 v4;
    __u32 v6[4];
    __u8 bytes[16];
};

/* fw_ipcache_v1 key: one workload (or host) address. */
struct fw_ipcache_key {
    __u8 family; /* enum fw_family */
    __u8 pad[3];
    union fw_addr addr;
};

/* Value of both fw_ipcache_v1 and fw_cidr_v1. */
struct fw_identity_info {
    __u32 identity;
    __u32 flags; /* FW_IDENTITY_F_* */
};
#define FW_IDENTITY_F_LOCAL 0x1 /* a workload on this node */
#define FW_IDENTITY_F_REMOTE 0x2 /* a workload on another node (the cluster store) */

/* Key of fw_cidr_v1 (CIDR entities: their identities come from the same allocation as
 * workloads', src/identity/identity_registry.h, so no range is set aside), fw_dallow_v1 and
 * the deny prefix hash (where prefixlen is FW_CIDR_PREFIX_BASE + N as well). The LPM trie matches the family byte and the padding
 * too, so a prefix of length N in the address is stored with prefixlen FW_CIDR_PREFIX_BASE
 * + N; IPv4 and IPv6 prefixes then never match each other. */
struct fw_cidr_key {
    __u32 prefixlen;
    __u8 family;
    __u8 pad[3];
    union fw_addr addr;
};
#define FW_CIDR_PREFIX_BASE 32

/* Deny lists (bpf/lib/deny.h, src/datapath/deny_sets.h).
 *
 * Every listed prefix of every list sits in one hash keyed by fw_cidr_key (prefixlen
 * FW_CIDR_PREFIX_BASE + N, address masked to N bits): a lookup is one hash lookup per prefix
 * length present near the address, longest first, instead of a walk down a trie that grows
 * slower with every prefix (a 1M-prefix LPM trie costs several hundred ns per lookup).
 * Two arrays in front keep unlisted addresses (the common case) away from the hash:
 *  - the filter, a bitmap: bit fw_deny_filter_bit(addr) is set when any prefix touches the
 *    block around addr (IPv4: its /24; IPv6: its /32, hashed). A clear bit: not listed.
 *  - the lengths, per block (IPv4: the /16; IPv6: the /32, hashed): bit N of
 *    struct fw_deny_lengths is set when a prefix of length N touches the block. Only those
 *    lengths are looked up.
 * Set bits that no prefix needs any more only cost time, never a verdict (user space clears
 * them when it rebuilds a generation).
 *
 * A generation is the three inner maps (prefixes, filter, lengths); each outer map
 * (ARRAY_OF_MAPS) has two slots, and fw_dctl_v1 says which slot is live. A refresh builds a
 * new generation in the idle slot, flips fw_dctl_v1, waits for the programs that read the
 * old slot number to finish (an RCU grace period) and deletes the old slot, whose maps the
 * kernel then frees outside the packet path. Small changes are made in the live generation,
 * one entry at a time (each hash update is atomic). */
#define FW_DENY_SLOTS       2
#define FW_DENY_MAX_LISTS   256 /* list ids 1..255; 0: no list */
#define FW_DENY_V4_FILTER_BITS (1u << 24) /* one per /24 */
#define FW_DENY_V6_FILTER_LOG  22         /* hashed /32s: 2^22 bits */
#define FW_DENY_FILTER_WORDS   ((FW_DENY_V4_FILTER_BITS + (1u << FW_DENY_V6_FILTER_LOG)) / 64)
#define FW_DENY_V6_LENGTHS_LOG 16         /* hashed /32s: 2^16 blocks */
#define FW_DENY_LENGTHS_SLOTS  ((1u << 16) + (1u << FW_DENY_V6_LENGTHS_LOG))

/* fw_dctl_v1[0]. */
struct fw_deny_control {
    __u32 slot;  /* the live generation: 0 or 1 */
    __u32 flags; /* FW_DENY_F_*; other bits reserved, zero */
};
#define FW_DENY_F_ACTIVE 0x1 /* the live generation has prefixes; clear: nothing listed */

/* Value of the prefix hash: the list that denies the prefix in each direction (user space
 * keeps the names), 0 for none. Inbound: the source of what enters (XDP on the uplinks, TC
 * towards a workload). Outbound: the destination of what a workload sends. Where a longer
 * prefix names only one direction, the lookup goes on to shorter ones for the other. */
struct fw_deny_value {
    __u16 inbound_list;
    __u16 outbound_list;
};

/* Value of the lengths array: bit N (word N / 64) for prefix length N, 0..128. */
struct fw_deny_lengths {
    __u64 bits[3];
};

/* fw_dallow_v1: LPM trie keyed by fw_cidr_key like fw_cidr_v1; value unused (1). Consulted
 * only when a deny entry matched: an allowed address is never denied, whatever the list. */

/* The hash of an IPv6 address's first 32 bits (host order), the same in both worlds. */
static inline __u32 fw_deny_v6_hash(__u32 top32_host) {
    return top32_host * 0x9E3779B1u;
}

/* Filter bit and lengths slot of an address (family FW_FAMILY_*, first word in host order:
 * IPv4: the address, IPv6: its first 32 bits). */
static inline __u32 fw_deny_filter_bit(__u8 family, __u32 top32_host) {
    if (family == FW_FAMILY_IPV4)
        return top32_host >> 8;
    return FW_DENY_V4_FILTER_BITS + (fw_deny_v6_hash(top32_host) >> (32 - FW_DENY_V6_FILTER_LOG));
}

static inline __u32 fw_deny_lengths_slot(__u8 family, __u32 top32_host) {
    if (family == FW_FAMILY_IPV4)
        return top32_host >> 16;
    return (1u << 16) + (fw_deny_v6_hash(top32_host) >> (32 - FW_DENY_V6_LENGTHS_LOG));
}

/* fw_ifaces_v1: the workload behind each guarded interface, filled by the daemon as it
 * guards the interface. The programs take the workload's own end of a packet from here
 * (its identity, the addresses and MAC it may use), never from what the packet says.
 *
 * An ifindex is unique only inside one network namespace, and in the in-workload placement
 * the programs run on interfaces of many namespaces: the key pairs it with the cookie of the
 * namespace of the device (net->net_cookie, the value SO_NETNS_COOKIE returns for a socket
 * of that namespace; the programs read it from skb->dev, not bpf_get_netns_cookie(), which
 * on TC gives the namespace of the sending socket). */
struct fw_iface_key {
    __u64 netns_cookie;
    __u32 ifindex;
    __u32 pad;
};

#define FW_IFACE_MAX_V4 4 /* addresses a workload may send from, per family */
#define FW_IFACE_MAX_V6 6 /* including its link-local fe80:: address */

struct fw_iface_info {
    __u32 identity; /* the workload's identity, as in fw_ipcache_v1 */
    __u32 flags;    /* FW_IFACE_F_*; other bits reserved, zero */
    __u8 mac[6];    /* the workload's MAC, if FW_IFACE_F_MAC_KNOWN */
    __u8 v4_count;  /* used entries of v4, at most FW_IFACE_MAX_V4 */
    __u8 v6_count;  /* used entries of v6, at most FW_IFACE_MAX_V6 */
    __u32 v4[FW_IFACE_MAX_V4];          /* network order */
    union fw_addr v6[FW_IFACE_MAX_V6];  /* network order */
};
/* mac holds the workload's address: Ethernet and ARP sources must be it. Without the flag
 * only the IP-level checks run (a MAC the runtime did not tell us). */
#define FW_IFACE_F_MAC_KNOWN 0x1

/* fw_ifslots_v1: an array of FW_IFACE_SLOTS copies of fw_ifaces_v1 entries, slot
 * ifindex & (FW_IFACE_SLOTS - 1), for the lookup every packet makes: an array lookup is
 * inlined by the JIT, a hash lookup is a call and a hash. A slot whose key is not the
 * packet's (empty: ifindex 0, or another interface's) sends the programs to fw_ifaces_v1,
 * which holds every entry. Only user space writes either map (src/datapath/interface_map.h:
 * the hash first; a slot is emptied before it takes another entry or a changed one). */
#define FW_IFACE_SLOTS 4096 /* power of two */

struct fw_iface_slot {
    struct fw_iface_key key; /* ifindex 0: empty */
    struct fw_iface_info info;
};

/* fw_policy_v1: the allowed flows. */
struct fw_policy_key {
    __u32 src_identity;
    __u32 dst_identity;
    __u16 dst_port; /* host order; 0 for protocols without ports (ICMP) */
    __u8 protocol;  /* IPPROTO_* (ICMP and ICMPv6 keep their own numbers) */
    __u8 pad;
};

struct fw_policy_value {
    __u32 flags; /* FW_POLICY_F_* */
};
#define FW_POLICY_F_LEARNED 0x1 /* added by the datapath while an end was learning */
#define FW_POLICY_F_MANUAL  0x2 /* added by an operator or an import */

/* Per-identity modes. Order matters: a larger value is stricter among alert/block, see
 * bpf/lib/verdict.h for how the two ends' modes combine. */
enum fw_mode {
    FW_MODE_UNSET = 0, /* no mode: the end does not take part (world, host, CIDR) */
    FW_MODE_LEARN = 1,
    FW_MODE_OFF = 2,
    FW_MODE_ALERT = 3,
    FW_MODE_BLOCK = 4,
};

/* fw_modes_v1 is an array indexed by identity: the JIT inlines its lookup, so a new
 * connection pays no helper call for the modes of its two ends. */
struct fw_mode_value {
    __u32 mode; /* enum fw_mode; FW_MODE_UNSET: no mode of its own */
};

/* fw_settings_v1[0]: what user space may change while the programs run. */
struct fw_settings {
    __u32 default_mode; /* mode of allocated identities whose fw_modes_v1 slot is unset */
    __u32 flags;        /* FW_SETTINGS_F_*; other bits reserved, zero */
};
/* Fail closed: on a guarded interface, a new connection whose workload end (the source of a
 * packet leaving the workload, the destination of one entering it; unicast only) has no
 * fw_ipcache_v1 entry is dropped (FW_REASON_FAIL_CLOSED) unless fw_policy_v1 allows its flow,
 * whatever the modes say. Without the flag (fail open) that end is judged as `world`. */
#define FW_SETTINGS_F_FAIL_CLOSED 0x1

/* fw_ct4_v1 / fw_ct6_v1: one entry per UDP or ICMP flow, keyed by the tuple of its first
 * packet (TCP is not tracked: its flags say which packet opens a connection). One map per
 * family: hashing the 16-byte IPv4 key instead of a 40-byte family-agnostic one is most of
 * an established packet's cost. */
struct fw_ct4_key {
    __u32 src_addr;
    __u32 dst_addr;
    __u16 src_port; /* network order; ICMP echo: the identifier */
    __u16 dst_port; /* network order; ICMP echo: the identifier */
    __u8 protocol;
    __u8 pad[3];
};

struct fw_ct6_key {
    union fw_addr src_addr;
    union fw_addr dst_addr;
    __u16 src_port;
    __u16 dst_port;
    __u8 protocol;
    __u8 pad[3];
};

/* Value of both conntrack maps. */
struct fw_ct_value {
    __u64 last_seen_jiffies; /* bpf_jiffies64(): inlined by the JIT, unlike the ktime
                              * helpers; refreshed at most every FW_CT_REFRESH_JIFFIES */
    __u32 src_identity;
    __u32 dst_identity;
    __u32 reason; /* enum fw_reason of the packet that opened it */
    __u32 flags;  /* FW_CT_F_* */
};
#define FW_CT_F_REPLY_SEEN    0x1
#define FW_CT_REFRESH_JIFFIES 256

/* fw_dedup_v1: at most one event per (flow, kind) per interval. */
struct fw_dedup_key {
    struct fw_policy_key flow;
    __u32 kind; /* enum fw_event_kind; drops: FW_DEDUP_KIND_DROP(reason), one per reason */
};
#define FW_DEDUP_KIND_DROP(reason) (FW_EVENT_DROP | ((reason) << 8))

struct fw_dedup_value {
    __u64 last_report_ns;
    __u32 suppressed; /* events not sent since the last report */
    __u32 pad;
};

/* Why a packet got its verdict. Numbered: counters and events carry these numbers, and
 * dashboards keep them, so values never change meaning; new reasons go at the end. */
enum fw_reason {
    FW_REASON_CT_ESTABLISHED = 0,  /* pass: later packet of a tracked (UDP/ICMP) flow */
    FW_REASON_CT_REPLY = 1,        /* pass: reply of a tracked (UDP/ICMP) flow */
    FW_REASON_TCP_ESTABLISHED = 2, /* pass: TCP other than a bare SYN: a judged SYN opened its
                                    * connection, or it predates the programs */
    FW_REASON_POLICY_ALLOW = 3,    /* pass: new connection, in the model */
    FW_REASON_LEARNED = 4,         /* pass: new connection, an end learns: added to the model */
    FW_REASON_ALERT = 5,           /* pass: not in the model, strictest mode alert: reported */
    FW_REASON_MODE_OFF = 6,        /* pass: not in the model, strictest mode off */
    FW_REASON_NO_WORKLOAD = 7,     /* pass: neither end has a mode */
    FW_REASON_NOT_IP = 8,          /* pass: not IPv4 or IPv6 (ARP, other ethertypes) */
    FW_REASON_FRAGMENT = 9,        /* pass: non-first fragment; the first one was judged */
    FW_REASON_ICMP_CONTROL = 10,   /* pass: ICMP error or IPv6 neighbour discovery */
    FW_REASON_BLOCKED = 11,        /* drop: not in the model, strictest mode block */
    FW_REASON_MALFORMED = 12,      /* drop: truncated or inconsistent headers */
    FW_REASON_CIDR_DENY = 13,      /* XDP drop: source in the deny list */
    FW_REASON_PREFILTER_PASS = 14, /* XDP pass: source not listed, or not IP */
    FW_REASON_FAIL_CLOSED = 15,    /* drop: fail closed, the workload end has no identity yet */
    /* 16-21: the interface map (fw_ifaces_v1); they apply whatever the modes and fail mode. */
    FW_REASON_SPOOFED = 16,        /* drop: source address not one the interface's workload owns */
    FW_REASON_SPOOFED_L2 = 17,     /* drop: ARP or neighbour discovery (or Ethernet source) that
                                    * claims an address the workload does not own */
    FW_REASON_ROGUE_ROUTER = 18,   /* drop: router advertisement, ICMP/ICMPv6 redirect or DHCP
                                    * server reply sent by a workload */
    FW_REASON_ICMP_UNMATCHED = 19, /* drop: ICMP error quoting a packet of no allowed flow
                                    * between the same two ends */
    FW_REASON_NEIGHBOUR = 20,      /* pass: ARP or neighbour discovery checked against the
                                    * interface map (the workload's own addresses) */
    FW_REASON_DHCP = 21,           /* pass: a guarded workload's DHCP/DHCPv6 client request, or
                                    * a server reply arriving at it (workloads' own server
                                    * replies are rogue_router) */
    FW_REASON_DENY_LISTED = 22,    /* TC drop: a deny list names the remote end (its source on
                                    * the way in, its destination on the way out) */
    /* Room: reasons up to 31 keep the counters below where they are. */
    FW_REASON_MAX = 32,
};

/* Counters: one per reason (packets and bytes with that verdict), then these. */
enum fw_counter {
    FW_CTR_EVENTS_SENT = FW_REASON_MAX, /* events written to the ring buffer */
    FW_CTR_EVENTS_LOST = 33,            /* events dropped: ring buffer full */
    FW_CTR_EVENTS_SUPPRESSED = 34,      /* events folded into an earlier one (de-dup) */
    FW_CTR_POLICY_FULL = 35,            /* learned flow not stored: fw_policy_v1 full */
    FW_CTR_CT_FULL = 36,                /* flow not tracked: conntrack insert failed */
    FW_CTR_MAX = 37,
};

struct fw_counter_value {
    __u64 packets; /* or occurrences, for the non-reason counters */
    __u64 bytes;
};

enum fw_event_kind {
    FW_EVENT_LEARNED = 1, /* a new flow was added to the model */
    FW_EVENT_ALERT = 2,   /* a connection outside the model passed */
    FW_EVENT_DROP = 3,    /* a connection outside the model was dropped */
};

/* Which hook saw the packet, from the workload's point of view. */
enum fw_direction {
    FW_DIR_FROM_WORKLOAD = 1,
    FW_DIR_TO_WORKLOAD = 2,
};

/* One record in fw_events_v1. */
struct fw_event {
    __u64 timestamp_ns; /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE */
    __u32 kind;         /* enum fw_event_kind */
    __u32 reason;       /* enum fw_reason */
    __u32 src_identity;
    __u32 dst_identity;
    union fw_addr src_addr;
    union fw_addr dst_addr;
    __u16 src_port; /* host order */
    __u16 dst_port; /* host order; 0 for ICMP */
    __u8 protocol;
    __u8 family;
    __u8 direction; /* enum fw_direction */
    __u8 pad;
    __u32 ifindex;
    __u32 suppressed; /* repeats of this (flow, kind) folded in since the previous event */
};

/* The event a verdict reason reports, or 0 for none: the programs send it, the tests and
 * user space expect it. */
static inline __u32 fw_event_kind_of(__u32 reason) {
    switch (reason) {
    case FW_REASON_LEARNED:
        return FW_EVENT_LEARNED;
    case FW_REASON_ALERT:
        return FW_EVENT_ALERT;
    case FW_REASON_BLOCKED:
    case FW_REASON_FAIL_CLOSED:
    case FW_REASON_SPOOFED:
    case FW_REASON_ICMP_UNMATCHED:
    case FW_REASON_DENY_LISTED:
        return FW_EVENT_DROP;
    default:
        return 0;
    }
}

/* Verdict of a reason: drop or pass. */
static inline int fw_reason_is_drop(__u32 reason) {
    switch (reason) {
    case FW_REASON_BLOCKED:
    case FW_REASON_MALFORMED:
    case FW_REASON_CIDR_DENY:
    case FW_REASON_FAIL_CLOSED:
    case FW_REASON_SPOOFED:
    case FW_REASON_SPOOFED_L2:
    case FW_REASON_ROGUE_ROUTER:
    case FW_REASON_ICMP_UNMATCHED:
    case FW_REASON_DENY_LISTED:
        return 1;
    default:
        return 0;
    }
}

#endif /* FLOWWALL_ABI_H */
