/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a workload may send, checked against its interface entry (lib/interface.h) before
 * anything the packet says is believed: a workload with CAP_NET_RAW writes any header it likes.
 *
 *  - Ethernet source: its own MAC (when known), on every frame   else spoofed_l2
 *  - ARP: Ethernet/IPv4 only, sender MAC its own, sender IP its own (0.0.0.0 only in a
 *    probe, RFC 5227)                                             else spoofed_l2
 *  - IP source: one of its addresses, whatever the protocol, on every packet (a forged
 *    segment of no connection is what a blind attacker sends); the unspecified address only
 *    where the protocols need it: a DHCP client's 0.0.0.0:68 -> :67, and :: in neighbour
 *    solicitations (duplicate address detection) and MLD reports    else spoofed
 *  - neighbour discovery: an advertisement only for its own address, a DAD solicitation
 *    only for its own address, link-layer address options its own MAC else spoofed_l2
 *  - router advertisements (ICMP 9, ICMPv6 134), redirects (ICMP 5, ICMPv6 137), DHCP server
 *    replies (UDP from port 67, DHCPv6 from 547): only the node sends these else rogue_router
 * Passing ARP and neighbour discovery count as `neighbour`; a DHCP client's request, and a
 * server's reply arriving at a guarded workload, as `dhcp`.
 */
#ifndef FW_BPF_SENDER_H
#define FW_BPF_SENDER_H

#include "interface.h"
#include "parse.h"

/* Returned when the sender checks have nothing against the packet. */
#define FW_SENDER_OK ((__u32)-2)

#define FW_DHCP_SERVER_PORT   67
#define FW_DHCP_CLIENT_PORT   68
#define FW_DHCPV6_CLIENT_PORT 546
#define FW_DHCPV6_SERVER_PORT 547

#define FW_ARP_REQUEST 1

/* The Ethernet/IPv4 ARP body (RFC 826), bytes as on the wire: the addresses are not
 * aligned, so they are compared bytewise. */
struct fw_arp_ipv4 {
    __be16 hardware_type;
    __be16 protocol_type;
    __u8 hardware_len;
    __u8 protocol_len;
    __be16 operation;
    __u8 sender_mac[6];
    __u8 sender_ip[4];
    __u8 target_mac[6];
    __u8 target_ip[4];
};

static __always_inline __u32 fw_sender_arp(void* data, void* data_end,
                                           const struct fw_iface_info* iface) {
    __be16 proto;
    /* Past the VLAN tags fw_parse() skipped too: tagged ARP is judged by what it claims, like
     * tagged IP (a workload may run VLAN subinterfaces on its eth0). */
    struct fw_arp_ipv4* arp = fw_network_header(data, data_end, &proto);
    __u32 sender_ip;

    if (!arp || (void*)(arp + 1) > data_end)
        return FW_REASON_MALFORMED;
    if (arp->hardware_type != bpf_htons(1) || arp->protocol_type != bpf_htons(ETH_P_IP) ||
        arp->hardware_len != 6 || arp->protocol_len != 4)
        return FW_REASON_SPOOFED_L2;
    if (!fw_iface_mac_ok(iface, arp->sender_mac))
        return FW_REASON_SPOOFED_L2;
    __builtin_memcpy(&sender_ip, arp->sender_ip, 4);
    if (fw_iface_owns_v4(iface, sender_ip))
        return FW_REASON_NEIGHBOUR;
    if (sender_ip == 0 && arp->operation == bpf_htons(FW_ARP_REQUEST))
        return FW_REASON_NEIGHBOUR; /* probe: "who has X", claiming nothing */
    return FW_REASON_SPOOFED_L2;
}

/* The unspecified source, where a protocol sends from it before it has an address. */
static __always_inline int fw_unspecified_source_ok(const struct fw_packet* pkt) {
    if (pkt->tuple.family == FW_FAMILY_IPV4)
        return pkt->tuple.protocol == IPPROTO_UDP &&
               pkt->tuple.src_port == bpf_htons(FW_DHCP_CLIENT_PORT) &&
               pkt->tuple.dst_port == bpf_htons(FW_DHCP_SERVER_PORT);
    return pkt->tuple.protocol == IPPROTO_ICMPV6 && pkt->l4_offset &&
           (pkt->icmp_type == FW_ICMPV6_NEIGH_SOLICIT || pkt->icmp_type == FW_ICMPV6_MLD_REPORT ||
            pkt->icmp_type == FW_ICMPV6_MLD2_REPORT);
}

#define FW_ND_OPT_SOURCE_LL 1
#define FW_ND_OPT_TARGET_LL 2
#define FW_ND_MAX_OPTIONS   4
#define FW_ND_NA_OVERRIDE   0x20

/* Neighbour solicitation and advertisement: ICMPv6 header, 4 bytes of flags, the target. */
struct fw_nd_msg {
    __u8 type;
    __u8 code;
    __sum16 checksum;
    __u8 flags;
    __u8 reserved[3];
    union fw_addr target;
};

struct fw_nd_opt {
    __u8 type;
    __u8 len; /* in units of 8 bytes */
    __u8 mac[6];
};

/* Link-layer address options of type `wanted` must carry the workload's MAC: the receiver
 * puts it in its neighbour cache next to the source (or target) address. */
static __always_inline __u32 fw_nd_options_ok(void* options, void* data_end, __u8 wanted,
                                              const struct fw_iface_info* iface) {
    int i;

    if (!(iface->flags & FW_IFACE_F_MAC_KNOWN))
        return 1;
    /* A bounded loop the verifier walks (at most FW_ND_MAX_OPTIONS times). */
    for (i = 0; i < FW_ND_MAX_OPTIONS; i++) {
        struct fw_nd_opt* opt = options;

        if ((void*)(opt + 1) > data_end)
            return 1; /* no more whole options: the kernel ignores a cut one too */
        if (opt->len == 0)
            return 0; /* RFC 4861: invalid, the receiver drops it anyway */
        if (opt->type == wanted && !fw_mac_equal(opt->mac, iface->mac))
            return 0;
        options += opt->len * 8;
    }
    return 1;
}

static __always_inline __u32 fw_sender_icmpv6(void* data, void* data_end,
                                              const struct fw_packet* pkt,
                                              const struct fw_iface_info* iface) {
    void* l4 = fw_l4_header(data, pkt);
    struct fw_nd_msg* nd = l4;

    if (!l4)
        return FW_REASON_MALFORMED;
    switch (pkt->icmp_type) {
    case FW_ICMPV6_ROUTER_ADVERT:
    case FW_ICMPV6_REDIRECT:
        return FW_REASON_ROGUE_ROUTER;
    case FW_ICMPV6_ROUTER_SOLICIT:
        /* 4 reserved bytes, then options. */
        return fw_nd_options_ok(l4 + 8, data_end, FW_ND_OPT_SOURCE_LL, iface)
                   ? FW_REASON_NEIGHBOUR
                   : FW_REASON_SPOOFED_L2;
    case FW_ICMPV6_NEIGH_SOLICIT:
        if ((void*)(nd + 1) > data_end)
            return FW_REASON_MALFORMED;
        /* Duplicate address detection comes from ::; a probe for another's address answers
         * "taken" to its owner's own detection. */
        if (fw_addr_is_unspecified(FW_FAMILY_IPV6, &pkt->tuple.src_addr) &&
            !fw_iface_owns_v6(iface, &nd->target))
            return FW_REASON_SPOOFED_L2;
        return fw_nd_options_ok(nd + 1, data_end, FW_ND_OPT_SOURCE_LL, iface)
                   ? FW_REASON_NEIGHBOUR
                   : FW_REASON_SPOOFED_L2;
    case FW_ICMPV6_NEIGH_ADVERT:
        if ((void*)(nd + 1) > data_end)
            return FW_REASON_MALFORMED;
        /* Only its own addresses, override flag or not: an advertisement for another's
         * address is exactly the lie that takes that address over. */
        if (!fw_iface_owns_v6(iface, &nd->target))
            return FW_REASON_SPOOFED_L2;
        return fw_nd_options_ok(nd + 1, data_end, FW_ND_OPT_TARGET_LL, iface)
                   ? FW_REASON_NEIGHBOUR
                   : FW_REASON_SPOOFED_L2;
    default:
        return FW_SENDER_OK;
    }
}

/* A DHCP client's exchange, as a guarded workload takes part in it: its request (UDP 68 -> 67,
 * DHCPv6 546 -> 547; the source was checked before), or a server's reply arriving at it
 * (67 -> 68, 547 -> 546). Control traffic, like router solicitations and advertisements:
 * judged as flows, a reply from the node would be "world -> workload" and blocked, and the
 * request goes out before the workload has the address the reply is sent to, so conntrack
 * cannot pair them. A workload's own server replies never get here (rogue_router). */
static __always_inline int fw_is_dhcp_client_exchange(const struct fw_packet* pkt,
                                                      __u32 direction) {
    __u16 client =
        pkt->tuple.family == FW_FAMILY_IPV4 ? FW_DHCP_CLIENT_PORT : FW_DHCPV6_CLIENT_PORT;
    __u16 server =
        pkt->tuple.family == FW_FAMILY_IPV4 ? FW_DHCP_SERVER_PORT : FW_DHCPV6_SERVER_PORT;

    if (pkt->tuple.protocol != IPPROTO_UDP)
        return 0;
    if (direction == FW_DIR_FROM_WORKLOAD)
        return pkt->tuple.src_port == bpf_htons(client) && pkt->tuple.dst_port == bpf_htons(server);
    return pkt->tuple.src_port == bpf_htons(server) && pkt->tuple.dst_port == bpf_htons(client);
}

/* FW_SENDER_OK, or the reason the packet is decided by. `parsed` is what fw_parse() said. */
static __noinline __u32 fw_sender_check(void* data, void* data_end, const struct fw_packet* pkt,
                                        __u32 parsed, const struct fw_iface_info* iface) {
    struct ethhdr* eth = data;

    if (parsed == FW_REASON_MALFORMED)
        return parsed;
    if ((void*)(eth + 1) > data_end)
        return FW_REASON_MALFORMED;
    if (!fw_iface_mac_ok(iface, eth->h_source))
        return FW_REASON_SPOOFED_L2;

    if (parsed == FW_REASON_NOT_IP)
        return pkt->eth_proto == bpf_htons(ETH_P_ARP) ? fw_sender_arp(data, data_end, iface)
                                                      : FW_SENDER_OK;

    /* IPv4 or IPv6: parsed, fragment, or ICMP control; the addresses are filled. */
    if (!fw_iface_owns(iface, pkt->tuple.family, &pkt->tuple.src_addr) &&
        !(fw_addr_is_unspecified(pkt->tuple.family, &pkt->tuple.src_addr) &&
          fw_unspecified_source_ok(pkt)))
        return FW_REASON_SPOOFED;
    if (parsed == FW_REASON_FRAGMENT)
        return FW_SENDER_OK;

    switch (pkt->tuple.protocol) {
    case IPPROTO_UDP:
        if (pkt->tuple.src_port == bpf_htons(pkt->tuple.family == FW_FAMILY_IPV4
                                                 ? FW_DHCP_SERVER_PORT
                                                 : FW_DHCPV6_SERVER_PORT))
            return FW_REASON_ROGUE_ROUTER;
        return FW_SENDER_OK;
    case IPPROTO_ICMP:
        if (pkt->icmp_type == FW_ICMP_REDIRECT || pkt->icmp_type == FW_ICMP_ROUTERADVERT)
            return FW_REASON_ROGUE_ROUTER;
        return FW_SENDER_OK;
    case IPPROTO_ICMPV6:
        return fw_sender_icmpv6(data, data_end, pkt, iface);
    default:
        return FW_SENDER_OK;
    }
}

#endif /* FW_BPF_SENDER_H */
