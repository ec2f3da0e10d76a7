// SPDX-License-Identifier: Apache-2.0
// IPv4/IPv6 addresses and prefixes as the datapath stores them (abi.h), with the parsing
// and printing people need.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "flowwall/abi.h"
#include "src/datapath/result.h"

namespace flowwall::datapath {

struct IpAddress {
    uint8_t family = FW_FAMILY_IPV4; // enum fw_family
    std::array<uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4

    // "198.18.0.1" or "fd00::1"; the error says what was not an address.
    static Result<IpAddress> parse(std::string_view text);
    static IpAddress from_abi(uint8_t family, const fw_addr& addr);

    fw_addr to_abi() const;
    unsigned max_prefix_length() const { return family == FW_FAMILY_IPV4 ? 32 : 128; }
    std::string to_string() const;
    bool operator==(const IpAddress&) const = default;
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

} // namespace flowwall::datapath
