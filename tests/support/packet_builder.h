// SPDX-License-Identifier: Apache-2.0
//
// Raw Ethernet frames for tests that feed eBPF programs through BPF_PROG_TEST_RUN (TC and XDP
// both see the frame from the Ethernet header on), and a parser to check frames a program hands
// back (frame_parser.cc).
//
// The builder is deliberately exact and deterministic: no padding to the Ethernet minimum, fixed
// MACs, IP identification, sequence numbers and echo sequence, so a test can cut a frame at a
// header boundary (l3_offset(), l4_offset(), build_truncated()) and compare bytes across runs.
// Checksums are always correct unless a test corrupts the bytes itself; malformed packets are
// made by truncating or by editing the built vector, not by builder options.
//
// Every misuse (bad address text, an option that does not fit the packet, a field out of range)
// throws std::invalid_argument whose message names the problem.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flowwall::testing {

// An IPv4 or IPv6 address as on the wire.
class Address {
public:
    // AF_UNSPEC and all zero: what a ParsedFrame holds for a frame that is not IP.
    Address() = default;

    static Address v4(std::string_view text);
    static Address v6(std::string_view text);
    // From network-order bytes, e.g. an address read out of a BPF map: 4 bytes for AF_INET, 16
    // for AF_INET6.
    static Address from_bytes(int family, std::span<const uint8_t> bytes);

    int family() const { return family_; }
    std::string str() const;

    bool operator==(const Address&) const = default;

    // Network byte order. IPv4 uses the first 4 bytes; the rest stay zero so that equality and
    // hashing never depend on leftovers.
    std::array<uint8_t, 16> bytes{};

private:
    int family_ = AF_UNSPEC;
};

// So that failed EXPECT_EQs print addresses, not byte dumps.
std::ostream& operator<<(std::ostream& out, const Address& address);

enum class TcpFlags : uint8_t {
    fin = 0x01,
    syn = 0x02,
    rst = 0x04,
    psh = 0x08,
    ack = 0x10,
    urg = 0x20,
    ece = 0x40,
    cwr = 0x80,
};

constexpr TcpFlags operator|(TcpFlags a, TcpFlags b) {
    return static_cast<TcpFlags>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}

// The byte as it appears in the TCP header (and in ParsedFrame::tcp_flags).
constexpr uint8_t bits(TcpFlags flags) {
    return static_cast<uint8_t>(flags);
}

using MacAddress = std::array<uint8_t, 6>;

class PacketBuilder {
public:
    // IP packets. Both addresses must have the same family, which picks IPv4 or IPv6 (and ICMP
    // or ICMPv6). Ports are in host byte order.
    static PacketBuilder tcp(const Address& src, uint16_t sport, const Address& dst, uint16_t dport,
                             TcpFlags flags);
    // Same, for flags spelled with the <netinet/tcp.h> TH_* constants.
    static PacketBuilder tcp(const Address& src, uint16_t sport, const Address& dst, uint16_t dport,
                             uint8_t flags);
    static PacketBuilder udp(const Address& src, uint16_t sport, const Address& dst,
                             uint16_t dport);
    // Echo request (ICMP 8, ICMPv6 128) or reply (ICMP 0, ICMPv6 129) with identifier `id`.
    static PacketBuilder icmp_echo(const Address& src, const Address& dst, uint16_t id,
                                   bool reply = false);
    // Any ICMP/ICMPv6 type and code; the four bytes after the checksum are zero. For an error
    // message, pass the quoted packet as payload(), e.g. the bytes of another builder's frame
    // from its l3_offset() on.
    static PacketBuilder icmp(const Address& src, const Address& dst, uint8_t type, uint8_t code);
    // Any other IP protocol (SCTP, GRE, ...): `payload_len` zero bytes follow the IP headers and
    // nothing inside them is computed, so l4_offset() is where that opaque payload starts.
    static PacketBuilder ip_proto(const Address& src, const Address& dst, uint8_t protocol,
                                  size_t payload_len = 8);

    // Non-IP frames. The ARP request is who-has 198.18.0.2 tell 198.18.0.1, sent to broadcast.
    static PacketBuilder arp();
    // Any ethertype with `payload_len` zero bytes. The type is not checked, so this also makes
    // frames that claim IP but carry garbage.
    static PacketBuilder ethertype(uint16_t type, size_t payload_len);

    // Replaces what follows the last header the builder lays out: the transport header, the IP
    // headers for ip_proto(), the Ethernet header for ethertype(). payload_size() zero-fills.
    PacketBuilder& payload(std::span<const uint8_t> bytes);
    PacketBuilder& payload_size(size_t n);

    // IPv4 only: `bytes` of NOP options (a multiple of 4, at most 40), so IHL = 5 + bytes / 4.
    PacketBuilder& ipv4_options(size_t bytes);
    // IPv4 only: fragment offset in bytes (a multiple of 8) and the MF flag. The transport
    // header is still laid out after the IP header even when the offset is not zero, so a parser
    // that wrongly reads ports from a later fragment finds plausible ones instead of zeros.
    PacketBuilder& ipv4_fragment(uint16_t offset_bytes, bool more_fragments);
    // IPv6 only: appends one header to the extension chain between the IPv6 header and the
    // transport header; calls keep their order. `type` is IPPROTO_HOPOPTS, IPPROTO_ROUTING,
    // IPPROTO_DSTOPTS, IPPROTO_FRAGMENT or IPPROTO_AH; the offset and M flag are only for
    // IPPROTO_FRAGMENT, where the same note as for ipv4_fragment() applies.
    PacketBuilder& ipv6_extension(uint8_t type, uint16_t fragment_offset_bytes = 0,
                                  bool more_fragments = false);

    // Adds an 802.1Q tag (TPID 0x8100, priority 0) with VLAN id 0-4095. Each call adds one more
    // tag inside the previous ones, so two calls make a double-tagged (Q-in-Q) frame.
    PacketBuilder& vlan(uint16_t id);
    // IPv4 TTL or IPv6 hop limit; 64 by default.
    PacketBuilder& ttl(uint8_t value);
    PacketBuilder& macs(const MacAddress& src, const MacAddress& dst);

    // The complete frame, with the IPv4 header checksum and the TCP, UDP, ICMP and ICMPv6
    // checksums filled in.
    std::vector<uint8_t> build() const;
    // The first `length` bytes of build(), for malformed-packet tests; `length` may not exceed
    // the full frame.
    std::vector<uint8_t> build_truncated(size_t length) const;

    // Where the network-layer header (or the ARP / ethertype body) starts: after Ethernet and any
    // VLAN tags.
    size_t l3_offset() const;
    // IP frames only: where the transport header starts, after IPv4 options or the IPv6
    // extension chain.
    size_t l4_offset() const;
    // build().size(), without building.
    size_t size() const;

private:
    enum class Kind { tcp, udp, icmp, opaque_ip, arp, ethertype };

    struct Ipv6Extension {
        uint8_t type;
        uint16_t fragment_offset;
        bool more_fragments;
    };

    struct Layout {
        size_t l3_offset;
        size_t l3_header_len; // IPv4 header with options, or IPv6 header with its extensions
        size_t l4_header_len; // zero when the builder does not lay out a transport header
        size_t payload_len;

        size_t l4_offset() const { return l3_offset + l3_header_len; }
        size_t size() const { return l4_offset() + l4_header_len + payload_len; }
    };

    PacketBuilder(Kind kind, MacAddress dst_mac);
    static PacketBuilder ip(Kind kind, const Address& src, const Address& dst, uint8_t protocol);

    bool is_ip() const;
    void require_ip(std::string_view operation) const;
    void require_family(int family, std::string_view operation) const;
    Layout layout() const;
    size_t ipv6_extensions_len() const;

    void write_ipv4(std::vector<uint8_t>& out, const Layout& layout) const;
    void write_ipv6(std::vector<uint8_t>& out, const Layout& layout) const;
    void write_transport(std::vector<uint8_t>& out) const;
    void fill_checksums(std::vector<uint8_t>& frame, const Layout& layout) const;

    Kind kind_;
    MacAddress src_mac_;
    MacAddress dst_mac_;
    std::vector<uint16_t> vlan_ids_;
    uint16_t ethertype_ = 0;

    Address src_;
    Address dst_;
    uint8_t protocol_ = 0;
    uint8_t ttl_ = 64;
    size_t ipv4_options_len_ = 0;
    uint16_t fragment_offset_ = 0;
    bool more_fragments_ = false;
    std::vector<Ipv6Extension> ipv6_extensions_;

    uint16_t sport_ = 0;
    uint16_t dport_ = 0;
    uint8_t tcp_flags_ = 0;
    uint8_t icmp_type_ = 0;
    uint8_t icmp_code_ = 0;
    uint16_t icmp_id_ = 0;

    std::vector<uint8_t> payload_;
};

// What parse_frame() read from a frame. Fields that do not apply stay zero.
struct ParsedFrame {
    uint16_t ethertype = 0;         // the one after any VLAN tags
    std::vector<uint16_t> vlan_ids; // outermost first
    int family = AF_UNSPEC;         // AF_INET, AF_INET6, or AF_UNSPEC for other ethertypes
    Address src;
    Address dst;
    uint8_t ttl = 0;
    // The transport protocol: for IPv6, the next header after the extension chain.
    uint8_t protocol = 0;
    std::vector<uint8_t> ipv6_extensions; // the extension header types, in order
    uint16_t fragment_offset = 0;         // bytes, from IPv4 or the IPv6 fragment header
    bool more_fragments = false;
    // Ports, flags and ICMP fields are read only from unfragmented packets and first fragments:
    // a later fragment has no transport header.
    uint16_t sport = 0; // host byte order
    uint16_t dport = 0;
    uint8_t tcp_flags = 0;
    uint8_t icmp_type = 0;
    uint8_t icmp_code = 0;
    uint16_t icmp_echo_id = 0; // the identifier of an echo request or reply
    size_t l3_offset = 0;
    size_t l4_offset = 0;      // where the data after the network-layer headers starts
    size_t payload_length = 0; // bytes after the transport header
    // IPv4 header checksum and, when the transport header was read, the TCP/UDP/ICMP/ICMPv6
    // checksum over the bytes present. True when there is nothing to check.
    bool checksums_ok = true;
};

// Reads Ethernet, VLAN tags, IPv4/IPv6 (with extension headers) and TCP/UDP/ICMP/ICMPv6.
// Returns nullopt when a header is cut short or contradicts the lengths around it (IHL < 5, a
// total length beyond the frame, a wrong IP version); wrong checksums are reported, not
// rejected.
std::optional<ParsedFrame> parse_frame(std::span<const uint8_t> frame);

} // namespace flowwall::testing
