/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deny lists: the maps (shared by the XDP prefilter and the TC firewall: both objects
 * declare them, and pinned by name they are the same maps) and the lookup. The layout and
 * why it is not one LPM trie: abi.h, "Deny lists"; docs/datapath.md.
 */
#ifndef FW_BPF_DENY_H
#define FW_BPF_DENY_H

#include "common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fw_deny_control);
} fw_dctl_v1 SEC(".maps");

/* Inner map templates: user space creates maps of these types for each generation (the
 * prefix hash sized to the generation; the arrays exactly as here, so the JIT inlines their
 * lookups). Sizes, not types: clang emits the types behind these only as forward
 * declarations, which libbpf cannot size. */
struct fw_deny_prefixes_map {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1);
    __uint(key_size, sizeof(struct fw_cidr_key));
    __uint(value_size, sizeof(struct fw_deny_value));
    __uint(map_flags, BPF_F_NO_PREALLOC);
};

struct fw_deny_filter_map {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FW_DENY_FILTER_WORDS);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u64));
};

struct fw_deny_lengths_map {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, FW_DENY_LENGTHS_SLOTS);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct fw_deny_lengths));
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, FW_DENY_SLOTS);
    __type(key, __u32);
    __array(values, struct fw_deny_prefixes_map);
} fw_dpfx_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, FW_DENY_SLOTS);
    __type(key, __u32);
    __array(values, struct fw_deny_filter_map);
} fw_dfilt_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, FW_DENY_SLOTS);
    __type(key, __u32);
    __array(values, struct fw_deny_lengths_map);
} fw_dlens_v1 SEC(".maps");

/* A handful of management networks: a trie is fine, and it is only walked for addresses a
 * deny list names. */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, FW_DEFAULT_DENY_ALLOW_ENTRIES);
    __type(key, struct fw_cidr_key);
    __type(value, __u32);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} fw_dallow_v1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FW_DENY_MAX_LISTS);
    __type(key, __u32);
    __type(value, struct fw_counter_value);
} fw_dstats_v1 SEC(".maps");

#define FW_DENY_INBOUND  0
#define FW_DENY_OUTBOUND 1

/* Index of the highest set bit of a non-zero word, without branches (De Bruijn
 * multiplication, after K. Walisch): with six branches the verifier walks 64 paths per step
 * of the search below and takes half a second to load the prefilter. */
/* clang-format off */
static const __u8 fw_fls64_table[64] = {
    0,  47, 1,  56, 48, 27, 2,  60, 57, 49, 41, 37, 28, 16, 3,  61,
    54, 58, 35, 52, 50, 42, 21, 44, 38, 32, 29, 23, 17, 11, 4,  62,
    46, 55, 26, 59, 40, 36, 15, 53, 34, 51, 20, 43, 31, 22, 10, 45,
    25, 39, 14, 33, 19, 30, 9,  24, 13, 18, 8,  12, 7,  6,  5,  63,
};
/* clang-format on */

static __always_inline __u32 fw_fls64(__u64 x) {
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    x |= x >> 32;
    return fw_fls64_table[(x * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* One 32-bit word (network order) of an address, cut to the `len` bits of a prefix that
 * fall in this word (its first bit is bit `first` of the address). Without branches: the
 * verifier would otherwise walk 3^4 paths per IPv6 key. */
static __always_inline __u32 fw_deny_mask_word(__u32 word, __u32 first, __u32 len) {
    __s64 n = (__s64)len - first; /* bits of this word inside the prefix, before clamping */
    __s64 over = (32 - n) >> 63;  /* all ones when n > 32 */

    n &= ~(n >> 63);               /* n < 0: 0 */
    n = (n & ~over) | (32 & over); /* n > 32: 32 */
    return word & bpf_htonl((__u32)(~0ULL << (32 - n)));
}

static __always_inline int fw_deny_allowed(__u8 family, const union fw_addr* addr) {
    struct fw_cidr_key key = {
        .prefixlen = FW_CIDR_PREFIX_BASE + (family == FW_FAMILY_IPV4 ? 32 : 128),
        .family = family,
        .addr = *addr,
    };

    return bpf_map_lookup_elem(&fw_dallow_v1, &key) != 0;
}

/* State of one search for a deny list (fw_deny_list_of), handed to each step. */
struct fw_deny_search {
    union fw_addr addr;
    __u64 lengths[3]; /* lengths still to try: bit N for length N */
    __u32 slot;
    __u32 direction;
    __u32 list; /* the answer, 0 while none */
    __u8 family;
};

/* One step: the longest length left, one hash lookup. 1 ends the search. A bpf_loop callback,
 * so the verifier checks it once rather than once per possible length. */
static long fw_deny_search_step(__u32 index __attribute__((unused)), void* context) {
    struct fw_deny_search* search = context;
    struct fw_cidr_key key = {.family = search->family};
    struct fw_deny_value* value;
    void* prefixes;
    __u32 len, list;

    if (search->lengths[2]) {
        len = 128;
        search->lengths[2] = 0;
    } else if (search->lengths[1]) {
        len = 64 + fw_fls64(search->lengths[1]);
        search->lengths[1] &= ~(1ULL << (len - 64));
    } else if (search->lengths[0]) {
        len = fw_fls64(search->lengths[0]);
        search->lengths[0] &= ~(1ULL << len);
    } else {
        return 1;
    }
    key.prefixlen = FW_CIDR_PREFIX_BASE + len;
    key.addr.v6[0] = fw_deny_mask_word(search->addr.v6[0], 0, len);
    if (search->family == FW_FAMILY_IPV6) {
        key.addr.v6[1] = fw_deny_mask_word(search->addr.v6[1], 32, len);
        key.addr.v6[2] = fw_deny_mask_word(search->addr.v6[2], 64, len);
        key.addr.v6[3] = fw_deny_mask_word(search->addr.v6[3], 96, len);
    }
    prefixes = bpf_map_lookup_elem(&fw_dpfx_v1, &search->slot);
    if (!prefixes)
        return 1;
    value = bpf_map_lookup_elem(prefixes, &key);
    if (!value)
        return 0;
    list = search->direction == FW_DENY_OUTBOUND ? value->outbound_list : value->inbound_list;
    if (!list)
        return 0;
    search->list = list;
    return 1;
}

/* The list that denies `addr` in `direction` (FW_DENY_INBOUND: as a source of what enters;
 * FW_DENY_OUTBOUND: as a workload's destination), 0 when none does or the allow set holds
 * it. Steps: the live generation; its filter (a clear bit ends the common case in two array
 * lookups); the lengths present around addr; one hash lookup per length, longest first,
 * until a prefix names the direction; the allow set. */
static __always_inline __u32 fw_deny_list_of(__u8 family, const union fw_addr* addr,
                                             __u32 direction) {
    __u32 zero = 0, slot, top, bit, word, index;
    struct fw_deny_control* control;
    struct fw_deny_lengths* lengths;
    void *filter, *lengths_map;
    __u64* bits;

    control = bpf_map_lookup_elem(&fw_dctl_v1, &zero);
    if (!control || !(control->flags & FW_DENY_F_ACTIVE))
        return 0;
    slot = control->slot & 1;
    filter = bpf_map_lookup_elem(&fw_dfilt_v1, &slot);
    if (!filter)
        return 0;

    top = bpf_ntohl(addr->v6[0]); /* IPv4: the address itself */
    bit = fw_deny_filter_bit(family, top);
    word = bit / 64;
    bits = bpf_map_lookup_elem(filter, &word);
    if (!bits || !(*bits & (1ULL << (bit & 63))))
        return 0;

    lengths_map = bpf_map_lookup_elem(&fw_dlens_v1, &slot);
    if (!lengths_map)
        return 0;
    index = fw_deny_lengths_slot(family, top);
    lengths = bpf_map_lookup_elem(lengths_map, &index);
    if (!lengths)
        return 0;

    struct fw_deny_search search = {
        .addr = *addr,
        .slot = slot,
        .direction = direction,
        .family = family,
    };
    if (family == FW_FAMILY_IPV4) {
        search.lengths[0] = lengths->bits[0] & ((1ULL << 33) - 1); /* lengths 0..32 */
    } else {
        search.lengths[0] = lengths->bits[0];
        search.lengths[1] = lengths->bits[1];
        search.lengths[2] = lengths->bits[2] & 1; /* length 128 */
    }
    bpf_loop(129, fw_deny_search_step, &search, 0);
    if (!search.list || fw_deny_allowed(family, addr))
        return 0;
    return search.list;
}

/* Per list: user space shows what each list dropped. */
static __always_inline void fw_deny_count(__u32 list, __u64 bytes) {
    struct fw_counter_value* value = bpf_map_lookup_elem(&fw_dstats_v1, &list);

    if (!value)
        return;
    value->packets += 1;
    value->bytes += bytes;
}

#endif /* FW_BPF_DENY_H */
