/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing shared by the TC and XDP programs: Ethernet, IPv4 (with options), IPv6
 * (with a bounded walk over extension headers), then the first bytes of TCP, UDP, ICMP and
 * ICMPv6. The result is the connection tuple of the packet, or a reason that already
 * decides the packet (not IP, fragment, ICMP control message, malformed).
 *
 * Defined verdicts for odd packets (documented in docs/datapath.md):
 *  - not IPv4/IPv6 (ARP, other ethertypes): pass, FW_REASON_NOT_IP (ARP from a workload
 *    with an interface entry is checked in lib/sender.h)
 *  - VLAN tags (802.1Q, 802.1ad) still in the frame: up to FW_MAX_VLAN_TAGS are skipped and
 *    the packet inside is judged like an untagged one; more: drop, FW_REASON_MALFORMED
 *  - headers cut short, IPv4 IHL < 5, wrong IP version, more than FW_MAX_IPV6_EXT extension
 *    headers: drop, FW_REASON_MALFORMED
 *  - IPv4/IPv6 non-first fragments: pass, FW_REASON_FRAGMENT (the first fragment carries
 *    the ports and is judged; without it the rest cannot be reassembled)
 *  - ICMP errors and IPv6 neighbour discovery/MLD: pass, FW_REASON_ICMP_CONTROL
 *  - other IP protocols (SCTP, GRE, ...): judged like a connection with ports 0
 */
#ifndef FW_BPF_PARSE_H
#define FW_BPF_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "common.h"

/* Returned by fw_parse() when the packet is a connection packet to be judged. */
#define FW_PARSED ((__u32)-1)

#define FW_MAX_IPV6_EXT 6

/* The kernel moves one tag into skb metadata before TC sees a frame, so a tag found in the
 * frame is a second one (QinQ) or a frame nobody untagged. Passing such frames as "not IP"
 * would let a workload with CAP_NET_RAW reach a peer around the firewall: the receiving
 * kernel strips priority tags (VLAN id 0) and delivers what is inside. */
#define FW_MAX_VLAN_TAGS 2

#define FW_TCP_FIN 0x01
#define FW_TCP_SYN 0x02
#define FW_TCP_RST 0x04
#define FW_TCP_ACK 0x10

#define FW_IP_MF      0x2000
#define FW_IP_OFFSET  0x1fff
#define FW_IP6_OFFSET 0xfff8

/* The connection tuple of a packet, either family. */
struct fw_tuple {
    union fw_addr src_addr;
    union fw_addr dst_addr;
    __u16 src_port; /* network order; ICMP echo: the identifier */
    __u16 dst_port;
    __u8 protocol;
    __u8 family;
    __u8 pad[2];
};

struct fw_packet {
    struct fw_tuple tuple; /* as on the wire */
    __u16 policy_port;     /* destination port in host order; 0 without ports */
    __u8 tcp_flags;
    __u8 icmp_type; /* ICMP/ICMPv6 only */
    __u8 icmp_code; /* ICMP/ICMPv6 only */
    __u8 pad;
    __be16 eth_proto; /* ethertype past the VLAN tags */
    __u16 l4_offset;  /* from the start of the frame; 0 when parsing stopped before L4 */
};

/* linux/icmp.h pulls in libc headers that do not build for the BPF target, so the few
 * ICMP definitions needed here are spelled out. */
struct fw_icmp_hdr {
    __u8 type;
    __u8 code;
    __sum16 checksum;
    __be16 echo_id;
    __be16 echo_sequence;
};

#define FW_ICMP_ECHOREPLY        0
#define FW_ICMP_DEST_UNREACH     3
#define FW_ICMP_SOURCE_QUENCH    4
#define FW_ICMP_REDIRECT         5
#define FW_ICMP_ECHO             8
#define FW_ICMP_ROUTERADVERT     9
#define FW_ICMP_TIME_EXCEEDED    11
#define FW_ICMP_PARAMETERPROB    12
#define FW_ICMPV6_ECHO_REQUEST   128
#define FW_ICMPV6_ECHO_REPLY     129
#define FW_ICMPV6_MLD_REPORT     131
#define FW_ICMPV6_ROUTER_SOLICIT 133
#define FW_ICMPV6_ROUTER_ADVERT  134
#define FW_ICMPV6_NEIGH_SOLICIT  135
#define FW_ICMPV6_NEIGH_ADVERT   136
#define FW_ICMPV6_REDIRECT       137
#define FW_ICMPV6_MLD2_REPORT    143

#ifndef ETH_P_ARP
#define ETH_P_ARP 0x0806
#endif

/* An 802.1Q/802.1ad tag as it sits in the frame after the MAC addresses' ethertype. */
struct fw_vlan_hdr {
    __be16 tci;
    __be16 encapsulated_proto;
};

static __always_inline int fw_is_vlan(__be16 proto) {
    return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* uapi has no IPv6 fragment header struct. */
struct fw_ipv6_frag_hdr {
    __u8 nexthdr;
    __u8 reserved;
    __be16 frag_off;
    __be32 identification;
};

static __always_inline int fw_icmp_is_control(__u8 type) {
    return type == FW_ICMP_DEST_UNREACH || type == FW_ICMP_SOURCE_QUENCH ||
           type == FW_ICMP_REDIRECT || type == FW_ICMP_TIME_EXCEEDED ||
           type == FW_ICMP_PARAMETERPROB;
}

static __always_inline int fw_icmp_is_echo(__u8 type) {
    return type == FW_ICMP_ECHO || type == FW_ICMP_ECHOREPLY;
}

static __always_inline int fw_icmpv6_is_control(__u8 type) {
    /* Errors are < 128; 130-137 and 143 are MLD, router/neighbour discovery, redirect:
     * without them IPv6 does not work at all. */
    return type < 128 || (type >= 130 && type <= 137) || type == 143;
}

static __always_inline int fw_icmpv6_is_echo(__u8 type) {
    return type == FW_ICMPV6_ECHO_REQUEST || type == FW_ICMPV6_ECHO_REPLY;
}

/* The verifier tracks a packet pointer's range only when its variable offset is provably
 * small: transport headers found past this offset are not looked into again. */
#define FW_MAX_L4_OFFSET 1023

/* The transport header parsed into pkt, or NULL (none, or beyond FW_MAX_L4_OFFSET). */
static __always_inline void* fw_l4_header(void* data, const struct fw_packet* pkt) {
    __u32 offset = pkt->l4_offset;

    if (offset == 0 || offset > FW_MAX_L4_OFFSET)
        return NULL;
    return data + (offset & FW_MAX_L4_OFFSET);
}

/* Fills the ports of pkt from the transport header at l4. */
static __always_inline __u32 fw_parse_l4(void* data, void* l4, void* data_end, __u8 protocol,
                                         struct fw_packet* pkt) {
    pkt->tuple.protocol = protocol;
    pkt->l4_offset = l4 - data;

    switch (protocol) {
    case IPPROTO_TCP: {
        struct tcphdr* tcp = l4;

        if ((void*)(tcp + 1) > data_end)
            return FW_REASON_MALFORMED;
        pkt->tuple.src_port = tcp->source;
        pkt->tuple.dst_port = tcp->dest;
        pkt->policy_port = bpf_ntohs(tcp->dest);
        pkt->tcp_flags = ((__u8*)tcp)[13];
        return FW_PARSED;
    }
    case IPPROTO_UDP: {
        struct udphdr* udp = l4;

        if ((void*)(udp + 1) > data_end)
            return FW_REASON_MALFORMED;
        pkt->tuple.src_port = udp->source;
        pkt->tuple.dst_port = udp->dest;
        pkt->policy_port = bpf_ntohs(udp->dest);
        return FW_PARSED;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
        /* The echo identifier stands in for both ports, so request and reply share a
         * tuple; the policy port is 0: the model says "icmp", not which type. */
        struct fw_icmp_hdr* icmp = l4;
        int control, echo;

        if ((void*)(icmp + 1) > data_end)
            return FW_REASON_MALFORMED;
        pkt->icmp_type = icmp->type;
        pkt->icmp_code = icmp->code;
        control = protocol == IPPROTO_ICMP ? fw_icmp_is_control(icmp->type)
                                           : fw_icmpv6_is_control(icmp->type);
        if (control)
            return FW_REASON_ICMP_CONTROL;
        echo =
            protocol == IPPROTO_ICMP ? fw_icmp_is_echo(icmp->type) : fw_icmpv6_is_echo(icmp->type);
        if (echo) {
            pkt->tuple.src_port = icmp->echo_id;
            pkt->tuple.dst_port = icmp->echo_id;
        }
        return FW_PARSED;
    }
    default:
        return FW_PARSED;
    }
}

static __always_inline __u32 fw_parse_ipv4(void* data, void* l3, void* data_end,
                                           struct fw_packet* pkt) {
    struct iphdr* ip = l3;
    __u32 header_len;

    if ((void*)(ip + 1) > data_end)
        return FW_REASON_MALFORMED;
    if (ip->version != 4 || ip->ihl < 5)
        return FW_REASON_MALFORMED;

    /* Addresses first: a fragment's source is checked too (lib/sender.h). */
    pkt->tuple.family = FW_FAMILY_IPV4;
    pkt->tuple.src_addr.v4 = ip->saddr;
    pkt->tuple.dst_addr.v4 = ip->daddr;
    if (ip->frag_off & bpf_htons(FW_IP_OFFSET))
        return FW_REASON_FRAGMENT;
    header_len = ip->ihl * 4;
    return fw_parse_l4(data, l3 + header_len, data_end, ip->protocol, pkt);
}

static __always_inline __u32 fw_parse_ipv6(void* data, void* l3, void* data_end,
                                           struct fw_packet* pkt) {
    struct ipv6hdr* ip6 = l3;
    void* cursor = (void*)(ip6 + 1);
    __u8 nexthdr;
    int i;

    if (cursor > data_end)
        return FW_REASON_MALFORMED;
    if (ip6->version != 6)
        return FW_REASON_MALFORMED;

    pkt->tuple.family = FW_FAMILY_IPV6;
    __builtin_memcpy(pkt->tuple.src_addr.bytes, &ip6->saddr, 16);
    __builtin_memcpy(pkt->tuple.dst_addr.bytes, &ip6->daddr, 16);
    nexthdr = ip6->nexthdr;

    for (i = 0; i < FW_MAX_IPV6_EXT; i++) {
        switch (nexthdr) {
        case IPPROTO_HOPOPTS:
        case IPPROTO_ROUTING:
        case IPPROTO_DSTOPTS: {
            struct ipv6_opt_hdr* opt = cursor;

            if ((void*)(opt + 1) > data_end)
                return FW_REASON_MALFORMED;
            nexthdr = opt->nexthdr;
            cursor += (opt->hdrlen + 1) * 8;
            break;
        }
        case IPPROTO_AH: {
            struct ipv6_opt_hdr* opt = cursor;

            if ((void*)(opt + 1) > data_end)
                return FW_REASON_MALFORMED;
            nexthdr = opt->nexthdr;
            cursor += (opt->hdrlen + 2) * 4;
            break;
        }
        case IPPROTO_FRAGMENT: {
            struct fw_ipv6_frag_hdr* frag = cursor;

            if ((void*)(frag + 1) > data_end)
                return FW_REASON_MALFORMED;
            if (frag->frag_off & bpf_htons(FW_IP6_OFFSET))
                return FW_REASON_FRAGMENT;
            nexthdr = frag->nexthdr;
            cursor += sizeof(*frag);
            break;
        }
        default:
            return fw_parse_l4(data, cursor, data_end, nexthdr, pkt);
        }
    }
    return FW_REASON_MALFORMED;
}

/* Where the network header of the frame in [data, data_end) starts, past the Ethernet header
 * and up to FW_MAX_VLAN_TAGS VLAN tags, with its ethertype in *proto; NULL when the frame is
 * cut short or carries more tags. */
static __always_inline void* fw_network_header(void* data, void* data_end, __be16* proto) {
    struct ethhdr* eth = data;
    void* l3 = (void*)(eth + 1);
    int tag;

    if (l3 > data_end)
        return NULL;
    *proto = eth->h_proto;

#pragma unroll
    for (tag = 0; tag < FW_MAX_VLAN_TAGS && fw_is_vlan(*proto); tag++) {
        struct fw_vlan_hdr* vlan = l3;

        if ((void*)(vlan + 1) > data_end)
            return NULL;
        *proto = vlan->encapsulated_proto;
        l3 = (void*)(vlan + 1);
    }
    return fw_is_vlan(*proto) ? NULL : l3;
}

/* Parses the frame in [data, data_end): FW_PARSED with pkt filled, or the reason that
 * decides the packet without a lookup. */
static __always_inline __u32 fw_parse(void* data, void* data_end, struct fw_packet* pkt) {
    __be16 proto;
    void* l3 = fw_network_header(data, data_end, &proto);

    if (!l3)
        return FW_REASON_MALFORMED;
    pkt->eth_proto = proto;
    switch (proto) {
    case bpf_htons(ETH_P_IP):
        return fw_parse_ipv4(data, l3, data_end, pkt);
    case bpf_htons(ETH_P_IPV6):
        return fw_parse_ipv6(data, l3, data_end, pkt);
    default:
        return FW_REASON_NOT_IP;
    }
}

/* The source address of an IPv4/IPv6 frame in [data, data_end) (past up to FW_MAX_VLAN_TAGS
 * tags: a trunk uplink carries them) and its family; 0 when there is none to read. For XDP,
 * which judges nothing else. */
static __always_inline int fw_frame_source(void* data, void* data_end, __u8* family,
                                           union fw_addr* source) {
    __be16 proto;
    void* l3 = fw_network_header(data, data_end, &proto);

    if (!l3)
        return 0;
    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr* ip = l3;

        if ((void*)(ip + 1) > data_end)
            return 0;
        *family = FW_FAMILY_IPV4;
        source->v4 = ip->saddr;
        return 1;
    }
    if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip6 = l3;

        if ((void*)(ip6 + 1) > data_end)
            return 0;
        *family = FW_FAMILY_IPV6;
        __builtin_memcpy(source->bytes, &ip6->saddr, 16);
        return 1;
    }
    return 0;
}

#endif /* FW_BPF_PARSE_H */
