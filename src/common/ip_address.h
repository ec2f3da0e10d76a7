// SPDX-License-Identifier: Apache-2.0
// IPv4/IPv6 addresses and prefixes, with the parsing and printing people need. The bytes are
// laid out as the datapath stores them (network order, IPv4 in the first 4), and the family
// numbers are the datapath's (abi.h FW_FAMILY_*; src/datapath/map_keys.cc checks they agree),
// so turning one into a map key is a copy.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/common/result.h"

namespace flowwall {

inline constexpr uint8_t kFamilyIpv4 = 4;
inline constexpr uint8_t kFamilyIpv6 = 6;

struct IpAddress {
    uint8_t family = kFamilyIpv4;    // kFamilyIpv4 or kFamilyIpv6
    std::array<uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4, the rest zero

    // "198.18.0.1" or "fd00::1"; the error says what was not an address.
    static Result<IpAddress> parse(std::string_view text);

    bool is_ipv4() const { return family == kFamilyIpv4; }
    unsigned max_prefix_length() const { return is_ipv4() ? 32 : 128; }
    std::string to_string() const;
    // By family, then bytes: addresses can key ordered maps.
    auto operator<=>(const IpAddress&) const = default;
};

struct IpPrefix {
    IpAddress address; // host bits are zero
    uint8_t length = 0;

    // "198.18.0.0/15", "fd00::/8"; a bare address is a full-length prefix. Host bits set
    // beyond the length are an error (they usually mean a typo in the length).
    static Result<IpPrefix> parse(std::string_view text);
    std::string to_string() const;
    bool operator==(const IpPrefix&) const = default;
};

} // namespace flowwall
