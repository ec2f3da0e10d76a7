// SPDX-License-Identifier: Apache-2.0
#include "tests/support/packet_builder.h"
#include "tests/support/wire_bytes.h"

#include <linux/if_ether.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>

#include <cstring>
#include <ostream>
#include <stdexcept>

namespace flowwall::testing {
namespace {

using namespace wire;

constexpr MacAddress kDefaultSrcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr MacAddress kDefaultDstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

constexpr size_t kIpv4MaxOptions = 40; // IHL is 4 bits: at most 60 bytes of header
constexpr size_t kArpBodyLen = 28;     // Ethernet/IPv4 ARP
constexpr size_t kAhLen = 24;          // 12 fixed bytes plus a 96-bit ICV, as HMAC-SHA1-96 has

// Fixed rather than random so that frames are byte-for-byte reproducible.
constexpr uint16_t kIpv4Id = 1;
constexpr uint32_t kIpv6FragmentId = 1;
constexpr uint32_t kTcpSeq = 1000;
constexpr uint32_t kTcpAckSeq = 2000;
constexpr uint16_t kIcmpEchoSeq = 1;
constexpr uint32_t kAhSpi = 0x100; // SPIs 0-255 are reserved

constexpr std::array<uint8_t, 4> kArpSenderIp = {198, 18, 0, 1};
constexpr std::array<uint8_t, 4> kArpTargetIp = {198, 18, 0, 2};

[[noreturn]] void fail(std::string_view operation, const std::string& problem) {
    throw std::invalid_argument(std::string(operation) + ": " + problem);
}

} // namespace

Address Address::v4(std::string_view text) {
    Address address;
    if (inet_pton(AF_INET, std::string(text).c_str(), address.bytes.data()) != 1) {
        fail("Address::v4", "\"" + std::string(text) + "\" is not an IPv4 address");
    }
    address.family_ = AF_INET;
    return address;
}

Address Address::v6(std::string_view text) {
    Address address;
    if (inet_pton(AF_INET6, std::string(text).c_str(), address.bytes.data()) != 1) {
        fail("Address::v6", "\"" + std::string(text) + "\" is not an IPv6 address");
    }
    address.family_ = AF_INET6;
    return address;
}

Address Address::from_bytes(int family, std::span<const uint8_t> bytes) {
    if (family != AF_INET && family != AF_INET6) {
        fail("Address::from_bytes",
             "family " + std::to_string(family) + " is neither AF_INET nor AF_INET6");
    }
    if (bytes.size() != address_len(family)) {
        fail("Address::from_bytes", std::to_string(bytes.size()) + " bytes given, an " +
                                        (family == AF_INET ? "IPv4" : "IPv6") + " address has " +
                                        std::to_string(address_len(family)));
    }
    Address address;
    std::memcpy(address.bytes.data(), bytes.data(), bytes.size());
    address.family_ = family;
    return address;
}

std::string Address::str() const {
    if (family_ == AF_UNSPEC) {
        return "unspecified";
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family_, bytes.data(), text, sizeof(text));
    return text;
}

std::ostream& operator<<(std::ostream& out, const Address& address) {
    return out << address.str();
}

PacketBuilder::PacketBuilder(Kind kind, MacAddress dst_mac)
    : kind_(kind), src_mac_(kDefaultSrcMac), dst_mac_(dst_mac) {}

PacketBuilder PacketBuilder::ip(Kind kind, const Address& src, const Address& dst,
                                uint8_t protocol) {
    if (src.family() == AF_UNSPEC || dst.family() == AF_UNSPEC) {
        fail("PacketBuilder", "an IP packet needs both a source and a destination address");
    }
    if (src.family() != dst.family()) {
        fail("PacketBuilder",
             "source " + src.str() + " and destination " + dst.str() + " are different families");
    }
    PacketBuilder builder(kind, kDefaultDstMac);
    builder.ethertype_ = src.family() == AF_INET ? ETH_P_IP : ETH_P_IPV6;
    builder.src_ = src;
    builder.dst_ = dst;
    builder.protocol_ = protocol;
    return builder;
}

PacketBuilder PacketBuilder::tcp(const Address& src, uint16_t sport, const Address& dst,
                                 uint16_t dport, TcpFlags flags) {
    return tcp(src, sport, dst, dport, bits(flags));
}

PacketBuilder PacketBuilder::tcp(const Address& src, uint16_t sport, const Address& dst,
                                 uint16_t dport, uint8_t flags) {
    PacketBuilder builder = ip(Kind::tcp, src, dst, IPPROTO_TCP);
    builder.sport_ = sport;
    builder.dport_ = dport;
    builder.tcp_flags_ = flags;
    return builder;
}

PacketBuilder PacketBuilder::udp(const Address& src, uint16_t sport, const Address& dst,
                                 uint16_t dport) {
    PacketBuilder builder = ip(Kind::udp, src, dst, IPPROTO_UDP);
    builder.sport_ = sport;
    builder.dport_ = dport;
    return builder;
}

PacketBuilder PacketBuilder::icmp_echo(const Address& src, const Address& dst, uint16_t id,
                                       bool reply) {
    const bool v4 = src.family() == AF_INET;
    const uint8_t type =
        v4 ? (reply ? ICMP_ECHOREPLY : ICMP_ECHO) : (reply ? ICMP6_ECHO_REPLY : ICMP6_ECHO_REQUEST);
    PacketBuilder builder = icmp(src, dst, type, 0);
    builder.icmp_id_ = id;
    return builder;
}

PacketBuilder PacketBuilder::icmp(const Address& src, const Address& dst, uint8_t type,
                                  uint8_t code) {
    const uint8_t protocol =
        src.family() == AF_INET ? uint8_t{IPPROTO_ICMP} : uint8_t{IPPROTO_ICMPV6};
    PacketBuilder builder = ip(Kind::icmp, src, dst, protocol);
    builder.icmp_type_ = type;
    builder.icmp_code_ = code;
    return builder;
}

PacketBuilder PacketBuilder::ip_proto(const Address& src, const Address& dst, uint8_t protocol,
                                      size_t payload_len) {
    PacketBuilder builder = ip(Kind::opaque_ip, src, dst, protocol);
    builder.payload_.assign(payload_len, 0);
    return builder;
}

PacketBuilder PacketBuilder::arp() {
    PacketBuilder builder(Kind::arp, kBroadcastMac);
    builder.ethertype_ = ETH_P_ARP;
    return builder;
}

PacketBuilder PacketBuilder::ethertype(uint16_t type, size_t payload_len) {
    PacketBuilder builder(Kind::ethertype, kDefaultDstMac);
    builder.ethertype_ = type;
    builder.payload_.assign(payload_len, 0);
    return builder;
}

PacketBuilder& PacketBuilder::payload(std::span<const uint8_t> bytes) {
    if (kind_ == Kind::arp) {
        fail("payload", "an ARP request has a fixed body");
    }
    payload_.assign(bytes.begin(), bytes.end());
    return *this;
}

PacketBuilder& PacketBuilder::payload_size(size_t n) {
    if (kind_ == Kind::arp) {
        fail("payload_size", "an ARP request has a fixed body");
    }
    payload_.assign(n, 0);
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_options(size_t bytes) {
    require_family(AF_INET, "ipv4_options");
    if (bytes % 4 != 0) {
        fail("ipv4_options", std::to_string(bytes) + " bytes is not a multiple of 4");
    }
    if (bytes > kIpv4MaxOptions) {
        fail("ipv4_options", std::to_string(bytes) + " bytes is more than the 40 IHL allows");
    }
    ipv4_options_len_ = bytes;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_fragment(uint16_t offset_bytes, bool more_fragments) {
    require_family(AF_INET, "ipv4_fragment");
    if (offset_bytes % 8 != 0) {
        fail("ipv4_fragment",
             "offset " + std::to_string(offset_bytes) + " is not a multiple of 8 bytes");
    }
    fragment_offset_ = offset_bytes;
    more_fragments_ = more_fragments;
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_extension(uint8_t type, uint16_t fragment_offset_bytes,
                                             bool more_fragments) {
    require_family(AF_INET6, "ipv6_extension");
    if (!is_ipv6_extension(type)) {
        fail("ipv6_extension", "next header " + std::to_string(type) +
                                   " is not HOPOPTS, ROUTING, DSTOPTS, FRAGMENT or AH");
    }
    if (type != IPPROTO_FRAGMENT && (fragment_offset_bytes != 0 || more_fragments)) {
        fail("ipv6_extension",
             "a fragment offset or M flag needs IPPROTO_FRAGMENT, not " + std::to_string(type));
    }
    if (fragment_offset_bytes % 8 != 0) {
        fail("ipv6_extension", "fragment offset " + std::to_string(fragment_offset_bytes) +
                                   " is not a multiple of 8 bytes");
    }
    ipv6_extensions_.push_back({type, fragment_offset_bytes, more_fragments});
    return *this;
}

PacketBuilder& PacketBuilder::vlan(uint16_t id) {
    if (id > 0x0fff) {
        fail("vlan", "id " + std::to_string(id) + " does not fit the 12-bit VLAN id");
    }
    vlan_ids_.push_back(id);
    return *this;
}

PacketBuilder& PacketBuilder::ttl(uint8_t value) {
    require_ip("ttl");
    ttl_ = value;
    return *this;
}

PacketBuilder& PacketBuilder::macs(const MacAddress& src, const MacAddress& dst) {
    src_mac_ = src;
    dst_mac_ = dst;
    return *this;
}

bool PacketBuilder::is_ip() const {
    return kind_ != Kind::arp && kind_ != Kind::ethertype;
}

void PacketBuilder::require_ip(std::string_view operation) const {
    if (!is_ip()) {
        fail(operation, "not an IP packet");
    }
}

void PacketBuilder::require_family(int family, std::string_view operation) const {
    require_ip(operation);
    if (src_.family() != family) {
        fail(operation,
             std::string("the packet is ") + (src_.family() == AF_INET ? "IPv4" : "IPv6"));
    }
}

size_t PacketBuilder::ipv6_extensions_len() const {
    size_t len = 0;
    for (const auto& extension : ipv6_extensions_) {
        len += extension.type == IPPROTO_AH ? kAhLen : kIpv6ExtensionLen;
    }
    return len;
}

PacketBuilder::Layout PacketBuilder::layout() const {
    Layout layout{
        .l3_offset = ETH_HLEN + kVlanTagLen * vlan_ids_.size(),
        .l3_header_len = 0,
        .l4_header_len = 0,
        .payload_len = payload_.size(),
    };
    switch (kind_) {
    case Kind::arp:
        layout.l3_header_len = kArpBodyLen;
        return layout;
    case Kind::ethertype:
        return layout;
    case Kind::tcp:
        layout.l4_header_len = sizeof(tcphdr);
        break;
    case Kind::udp:
        layout.l4_header_len = sizeof(udphdr);
        break;
    case Kind::icmp:
        layout.l4_header_len = kIcmpHeaderLen;
        break;
    case Kind::opaque_ip:
        break;
    }

    const bool v4 = src_.family() == AF_INET;
    layout.l3_header_len =
        v4 ? sizeof(iphdr) + ipv4_options_len_ : sizeof(ip6_hdr) + ipv6_extensions_len();
    // The IPv4 total length counts the IP header, the IPv6 payload length does not.
    const size_t length_field = layout.size() - layout.l3_offset - (v4 ? 0 : sizeof(ip6_hdr));
    if (length_field > UINT16_MAX) {
        fail("PacketBuilder",
             "the IP length field would be " + std::to_string(length_field) + ", more than 65535");
    }
    return layout;
}

size_t PacketBuilder::l3_offset() const {
    return layout().l3_offset;
}

size_t PacketBuilder::l4_offset() const {
    require_ip("l4_offset");
    return layout().l4_offset();
}

size_t PacketBuilder::size() const {
    return layout().size();
}

std::vector<uint8_t> PacketBuilder::build() const {
    const Layout layout = this->layout();
    std::vector<uint8_t> frame;
    frame.reserve(layout.size());

    append(frame, dst_mac_);
    append(frame, src_mac_);
    for (uint16_t id : vlan_ids_) {
        append_be16(frame, ETH_P_8021Q);
        append_be16(frame, id);
    }
    append_be16(frame, ethertype_);

    switch (kind_) {
    case Kind::arp:
        append_be16(frame, 1); // hardware type: Ethernet
        append_be16(frame, ETH_P_IP);
        frame.push_back(ETH_ALEN);
        frame.push_back(4);
        append_be16(frame, 1); // operation: request
        append(frame, src_mac_);
        append(frame, kArpSenderIp);
        append(frame, MacAddress{}); // the target MAC is what the request asks for
        append(frame, kArpTargetIp);
        break;
    case Kind::ethertype:
        append(frame, payload_);
        break;
    default:
        if (src_.family() == AF_INET) {
            write_ipv4(frame, layout);
        } else {
            write_ipv6(frame, layout);
        }
        write_transport(frame);
        append(frame, payload_);
        fill_checksums(frame, layout);
        break;
    }
    return frame;
}

std::vector<uint8_t> PacketBuilder::build_truncated(size_t length) const {
    std::vector<uint8_t> frame = build();
    if (length > frame.size()) {
        fail("build_truncated", "asked for " + std::to_string(length) +
                                    " bytes of a frame that has only " +
                                    std::to_string(frame.size()));
    }
    frame.resize(length);
    return frame;
}

void PacketBuilder::write_ipv4(std::vector<uint8_t>& out, const Layout& layout) const {
    iphdr ip{};
    ip.version = 4;
    ip.ihl = static_cast<unsigned>(layout.l3_header_len / 4);
    ip.tot_len = htons(static_cast<uint16_t>(layout.size() - layout.l3_offset));
    ip.id = htons(kIpv4Id);
    ip.frag_off =
        htons(static_cast<uint16_t>(fragment_offset_ / 8 | (more_fragments_ ? IP_MF : 0)));
    ip.ttl = ttl_;
    ip.protocol = protocol_;
    std::memcpy(&ip.saddr, src_.bytes.data(), sizeof(ip.saddr));
    std::memcpy(&ip.daddr, dst_.bytes.data(), sizeof(ip.daddr));
    append_header(out, ip);
    out.insert(out.end(), ipv4_options_len_, IPOPT_NOP);
}

void PacketBuilder::write_ipv6(std::vector<uint8_t>& out, const Layout& layout) const {
    ip6_hdr ip6{};
    ip6.ip6_flow = htonl(6u << 28); // version; traffic class and flow label stay zero
    ip6.ip6_plen = htons(static_cast<uint16_t>(layout.size() - layout.l3_offset - sizeof(ip6)));
    ip6.ip6_nxt = ipv6_extensions_.empty() ? protocol_ : ipv6_extensions_.front().type;
    ip6.ip6_hlim = ttl_;
    std::memcpy(ip6.ip6_src.s6_addr, src_.bytes.data(), 16);
    std::memcpy(ip6.ip6_dst.s6_addr, dst_.bytes.data(), 16);
    append_header(out, ip6);

    for (size_t i = 0; i < ipv6_extensions_.size(); ++i) {
        const Ipv6Extension& extension = ipv6_extensions_[i];
        const uint8_t next =
            i + 1 < ipv6_extensions_.size() ? ipv6_extensions_[i + 1].type : protocol_;
        switch (extension.type) {
        case IPPROTO_FRAGMENT: {
            ip6_frag fragment{};
            fragment.ip6f_nxt = next;
            fragment.ip6f_offlg = static_cast<uint16_t>(
                htons(extension.fragment_offset) | (extension.more_fragments ? IP6F_MORE_FRAG : 0));
            fragment.ip6f_ident = htonl(kIpv6FragmentId);
            append_header(out, fragment);
            break;
        }
        case IPPROTO_AH:
            out.push_back(next);
            out.push_back(kAhLen / 4 - 2);
            append_be16(out, 0); // reserved
            append_be32(out, kAhSpi);
            append_be32(out, 1);                   // sequence number
            out.insert(out.end(), kAhLen - 12, 0); // ICV
            break;
        case IPPROTO_ROUTING:
            // Type 0 with no segments left: every node must skip it rather than route on it.
            out.push_back(next);
            out.push_back(0); // length in 8-byte units beyond the first
            out.push_back(0); // routing type
            out.push_back(0); // segments left
            out.insert(out.end(), 4, 0);
            break;
        default: // hop-by-hop and destination options: one PadN fills the 8 bytes
            out.push_back(next);
            out.push_back(0);
            out.push_back(IP6OPT_PADN);
            out.push_back(4);
            out.insert(out.end(), 4, 0);
            break;
        }
    }
}

void PacketBuilder::write_transport(std::vector<uint8_t>& out) const {
    switch (kind_) {
    case Kind::tcp: {
        tcphdr tcp{};
        tcp.th_sport = htons(sport_);
        tcp.th_dport = htons(dport_);
        tcp.th_seq = htonl(kTcpSeq);
        tcp.th_ack = htonl((tcp_flags_ & TH_ACK) != 0 ? kTcpAckSeq : 0);
        tcp.th_off = sizeof(tcp) / 4;
        tcp.th_flags = tcp_flags_;
        tcp.th_win = htons(UINT16_MAX);
        append_header(out, tcp);
        break;
    }
    case Kind::udp: {
        udphdr udp{};
        udp.uh_sport = htons(sport_);
        udp.uh_dport = htons(dport_);
        udp.uh_ulen = htons(static_cast<uint16_t>(sizeof(udp) + payload_.size()));
        append_header(out, udp);
        break;
    }
    case Kind::icmp:
        out.push_back(icmp_type_);
        out.push_back(icmp_code_);
        append_be16(out, 0); // checksum, filled in later
        // Echo identifier and sequence. Zero suits the other types tests need (unreachable,
        // time exceeded, neighbour discovery), whose bytes here are unused or reserved.
        append_be16(out, icmp_id_);
        append_be16(out, is_echo(protocol_, icmp_type_) ? kIcmpEchoSeq : 0);
        break;
    default:
        break;
    }
}

void PacketBuilder::fill_checksums(std::vector<uint8_t>& frame, const Layout& layout) const {
    const std::span<const uint8_t> bytes(frame);
    if (src_.family() == AF_INET) {
        const auto header = bytes.subspan(layout.l3_offset, layout.l3_header_len);
        store_be16(frame, layout.l3_offset + offsetof(iphdr, check),
                   fold_and_complement(sum_words(header)));
    }

    size_t checksum_offset = 0;
    switch (kind_) {
    case Kind::tcp:
        checksum_offset = offsetof(tcphdr, th_sum);
        break;
    case Kind::udp:
        checksum_offset = offsetof(udphdr, uh_sum);
        break;
    case Kind::icmp:
        checksum_offset = offsetof(icmphdr, checksum);
        break;
    default:
        return;
    }
    const auto segment = bytes.subspan(layout.l4_offset());
    uint64_t sum = sum_words(segment);
    if (uses_pseudo_header(protocol_)) {
        sum += pseudo_header_sum(src_, dst_, protocol_, segment.size());
    }
    uint16_t checksum = fold_and_complement(sum);
    if (kind_ == Kind::udp && checksum == 0) {
        checksum = 0xffff; // to UDP, zero means "not computed"; 0xffff is the same sum
    }
    store_be16(frame, layout.l4_offset() + checksum_offset, checksum);
}

} // namespace flowwall::testing
