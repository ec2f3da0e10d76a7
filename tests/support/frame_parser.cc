// SPDX-License-Identifier: Apache-2.0
// parse_frame(): the reading half of tests/support/packet_builder.h.
#include "tests/support/packet_builder.h"
#include "tests/support/wire_bytes.h"

#include <linux/if_ether.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

namespace flowwall::testing {
namespace {

using namespace wire;

// Fills the transport fields of `parsed` from `segment`, which holds exactly the bytes the IP
// header says follow it. False when the transport header is cut short or inconsistent.
bool parse_transport(std::span<const uint8_t> segment, ParsedFrame& parsed) {
    if (parsed.fragment_offset != 0) {
        parsed.payload_length = segment.size();
        return true;
    }

    size_t header_len = 0;
    switch (parsed.protocol) {
    case IPPROTO_TCP: {
        tcphdr tcp;
        if (!read_header(segment, 0, tcp)) {
            return false;
        }
        header_len = tcp.th_off * 4u;
        if (header_len < sizeof(tcp) || header_len > segment.size()) {
            return false;
        }
        parsed.sport = ntohs(tcp.th_sport);
        parsed.dport = ntohs(tcp.th_dport);
        parsed.tcp_flags = tcp.th_flags;
        break;
    }
    case IPPROTO_UDP: {
        udphdr udp;
        if (!read_header(segment, 0, udp)) {
            return false;
        }
        const size_t udp_len = ntohs(udp.uh_ulen);
        if (udp_len < sizeof(udp) || udp_len > segment.size()) {
            return false;
        }
        segment = segment.first(udp_len);
        header_len = sizeof(udp);
        parsed.sport = ntohs(udp.uh_sport);
        parsed.dport = ntohs(udp.uh_dport);
        if (udp.uh_sum == 0 && parsed.family == AF_INET) {
            // Zero means the sender did not compute one, which only IPv4 allows.
            parsed.payload_length = segment.size() - header_len;
            return true;
        }
        break;
    }
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: {
        // ICMPv6 shares the layout of the first 8 bytes, echo identifier included.
        icmphdr icmp;
        if (!read_header(segment, 0, icmp)) {
            return false;
        }
        header_len = kIcmpHeaderLen;
        parsed.icmp_type = icmp.type;
        parsed.icmp_code = icmp.code;
        if (is_echo(parsed.protocol, icmp.type)) {
            parsed.icmp_echo_id = ntohs(icmp.un.echo.id);
        }
        break;
    }
    default:
        parsed.payload_length = segment.size();
        return true;
    }

    parsed.payload_length = segment.size() - header_len;
    uint64_t sum = sum_words(segment);
    if (uses_pseudo_header(parsed.protocol)) {
        sum += pseudo_header_sum(parsed.src, parsed.dst, parsed.protocol, segment.size());
    }
    parsed.checksums_ok = parsed.checksums_ok && fold_and_complement(sum) == 0;
    return true;
}

bool parse_ipv4(std::span<const uint8_t> frame, size_t offset, ParsedFrame& parsed) {
    iphdr ip;
    if (!read_header(frame, offset, ip) || ip.version != 4 || ip.ihl < 5) {
        return false;
    }
    const size_t header_len = ip.ihl * 4u;
    // Ethernet may pad a short frame, so the IP length, not the frame end, bounds the packet.
    const size_t total_len = ntohs(ip.tot_len);
    if (total_len < header_len || frame.size() - offset < total_len) {
        return false;
    }
    const auto packet = frame.subspan(offset, total_len);

    parsed.family = AF_INET;
    parsed.src = Address::from_bytes(AF_INET, packet.subspan(offsetof(iphdr, saddr), 4));
    parsed.dst = Address::from_bytes(AF_INET, packet.subspan(offsetof(iphdr, daddr), 4));
    parsed.ttl = ip.ttl;
    parsed.protocol = ip.protocol;
    const uint16_t fragment = ntohs(ip.frag_off);
    parsed.fragment_offset = static_cast<uint16_t>((fragment & IP_OFFMASK) * 8);
    parsed.more_fragments = (fragment & IP_MF) != 0;
    parsed.checksums_ok = fold_and_complement(sum_words(packet.first(header_len))) == 0;
    parsed.l4_offset = offset + header_len;
    return parse_transport(packet.subspan(header_len), parsed);
}

bool parse_ipv6(std::span<const uint8_t> frame, size_t offset, ParsedFrame& parsed) {
    ip6_hdr ip6;
    if (!read_header(frame, offset, ip6) || ip6.ip6_vfc >> 4 != 6) {
        return false;
    }
    const size_t payload_len = ntohs(ip6.ip6_plen);
    if (frame.size() - offset - sizeof(ip6) < payload_len) {
        return false;
    }
    auto rest = frame.subspan(offset + sizeof(ip6), payload_len);

    parsed.family = AF_INET6;
    parsed.src = Address::from_bytes(AF_INET6, {ip6.ip6_src.s6_addr, 16});
    parsed.dst = Address::from_bytes(AF_INET6, {ip6.ip6_dst.s6_addr, 16});
    parsed.ttl = ip6.ip6_hlim;

    uint8_t next = ip6.ip6_nxt;
    while (is_ipv6_extension(next)) {
        if (rest.size() < kIpv6ExtensionLen) {
            return false;
        }
        parsed.ipv6_extensions.push_back(next);
        size_t len = 0;
        if (next == IPPROTO_FRAGMENT) {
            ip6_frag fragment;
            read_header(rest, 0, fragment);
            parsed.fragment_offset = ntohs(fragment.ip6f_offlg & IP6F_OFF_MASK);
            parsed.more_fragments = (fragment.ip6f_offlg & IP6F_MORE_FRAG) != 0;
            len = sizeof(fragment);
        } else if (next == IPPROTO_AH) {
            len = (rest[1] + 2u) * 4; // AH counts 4-byte units, minus 2
        } else {
            len = (rest[1] + 1u) * 8; // the others count 8-byte units beyond the first
        }
        if (len > rest.size()) {
            return false;
        }
        next = rest[0];
        rest = rest.subspan(len);
    }

    parsed.protocol = next;
    parsed.l4_offset = static_cast<size_t>(rest.data() - frame.data());
    return parse_transport(rest, parsed);
}

} // namespace

std::optional<ParsedFrame> parse_frame(std::span<const uint8_t> frame) {
    ParsedFrame parsed;
    ethhdr eth;
    if (!read_header(frame, 0, eth)) {
        return std::nullopt;
    }
    size_t offset = sizeof(eth);
    uint16_t type = ntohs(eth.h_proto);
    while (type == ETH_P_8021Q || type == ETH_P_8021AD) {
        if (frame.size() - offset < kVlanTagLen) {
            return std::nullopt;
        }
        parsed.vlan_ids.push_back(load_be16(frame, offset) & 0x0fff);
        type = load_be16(frame, offset + 2);
        offset += kVlanTagLen;
    }
    parsed.ethertype = type;
    parsed.l3_offset = offset;

    bool ok = true;
    if (type == ETH_P_IP) {
        ok = parse_ipv4(frame, offset, parsed);
    } else if (type == ETH_P_IPV6) {
        ok = parse_ipv6(frame, offset, parsed);
    }
    if (!ok) {
        return std::nullopt;
    }
    return parsed;
}

} // namespace flowwall::testing
