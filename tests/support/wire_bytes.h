// SPDX-License-Identifier: Apache-2.0
// Byte-level pieces the packet builder and the frame parser share: big-endian fields, header
// structs read from a byte span, the RFC 1071 checksum sums, and which protocol numbers are
// what. Internal to tests/support.
#pragma once

#include "tests/support/packet_builder.h"

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>

#include <cstring>
#include <span>
#include <vector>

namespace flowwall::testing::wire {

constexpr size_t kVlanTagLen = 4;
constexpr size_t kIcmpHeaderLen = 8;    // type, code, checksum and the 4-byte rest of header
constexpr size_t kIpv6ExtensionLen = 8; // hop-by-hop, routing, options, fragment: the minimum

inline size_t address_len(int family) {
    return family == AF_INET ? 4 : 16;
}

inline void append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

// The uapi/glibc header structs are already laid out as on the wire.
template <typename Header>
inline void append_header(std::vector<uint8_t>& out, const Header& header) {
    append(out, {reinterpret_cast<const uint8_t*>(&header), sizeof(header)});
}

inline void append_be16(std::vector<uint8_t>& out, uint16_t value) {
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
}

inline void append_be32(std::vector<uint8_t>& out, uint32_t value) {
    append_be16(out, static_cast<uint16_t>(value >> 16));
    append_be16(out, static_cast<uint16_t>(value));
}

inline void store_be16(std::vector<uint8_t>& out, size_t offset, uint16_t value) {
    out[offset] = static_cast<uint8_t>(value >> 8);
    out[offset + 1] = static_cast<uint8_t>(value);
}

inline uint16_t load_be16(std::span<const uint8_t> bytes, size_t offset) {
    return static_cast<uint16_t>(bytes[offset] << 8 | bytes[offset + 1]);
}

template <typename Header>
inline bool read_header(std::span<const uint8_t> bytes, size_t offset, Header& header) {
    if (offset > bytes.size() || bytes.size() - offset < sizeof(header)) {
        return false;
    }
    std::memcpy(&header, bytes.data() + offset, sizeof(header));
    return true;
}

// RFC 1071 sum of 16-bit big-endian words, left unfolded so that the pseudo-header and the
// segment can be summed separately and added.
inline uint64_t sum_words(std::span<const uint8_t> bytes) {
    uint64_t sum = 0;
    for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
        sum += load_be16(bytes, i);
    }
    if (bytes.size() % 2 != 0) {
        sum += static_cast<uint64_t>(bytes.back()) << 8;
    }
    return sum;
}

inline uint16_t fold_and_complement(uint64_t sum) {
    while (sum >> 16 != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

// The IPv4 and IPv6 pseudo-headers differ in layout but not in their word sum, as long as the
// length fits 16 bits (which both IP length fields guarantee).
inline uint64_t pseudo_header_sum(const Address& src, const Address& dst, uint8_t protocol,
                                  size_t length) {
    const size_t len = address_len(src.family());
    return sum_words(std::span(src.bytes).first(len)) + sum_words(std::span(dst.bytes).first(len)) +
           protocol + length;
}

// ICMPv4 is the one transport checksum without a pseudo-header.
inline bool uses_pseudo_header(uint8_t protocol) {
    return protocol != IPPROTO_ICMP;
}

inline bool is_ipv6_extension(uint8_t type) {
    return type == IPPROTO_HOPOPTS || type == IPPROTO_ROUTING || type == IPPROTO_DSTOPTS ||
           type == IPPROTO_FRAGMENT || type == IPPROTO_AH;
}

inline bool is_echo(uint8_t protocol, uint8_t type) {
    if (protocol == IPPROTO_ICMP) {
        return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
    }
    return type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
}

} // namespace flowwall::testing::wire
