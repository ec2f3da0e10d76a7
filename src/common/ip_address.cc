// SPDX-License-Identifier: Apache-2.0
#include "src/common/ip_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace flowwall {

Result<IpAddress> IpAddress::parse(std::string_view text) {
    std::string copy(text);
    IpAddress address;
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
        address.family = kFamilyIpv4;
        return address;
    }
    if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
        address.family = kFamilyIpv6;
        return address;
    }
    return Error{EINVAL, "not an IPv4 or IPv6 address: '" + copy + "'"};
}

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(is_ipv4() ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
    return text;
}

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
    auto slash = text.find('/');
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address)
        return Error{EINVAL, "not a CIDR prefix: '" + std::string(text) +
                                 "' (expected e.g. 198.18.0.0/15 or fd00::/8)"};

    IpPrefix prefix{address.value(), static_cast<uint8_t>(address.value().max_prefix_length())};
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        unsigned length = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
            length > prefix.address.max_prefix_length())
            return Error{EINVAL, "bad prefix length in '" + std::string(text) + "': want 0-" +
                                     std::to_string(prefix.address.max_prefix_length())};
        prefix.length = static_cast<uint8_t>(length);
    }
    for (unsigned bit = prefix.length; bit < prefix.address.max_prefix_length(); ++bit) {
        if (prefix.address.bytes[bit / 8] & (0x80 >> (bit % 8)))
            return Error{EINVAL, "'" + std::string(text) + "' has host bits set beyond /" +
                                     std::to_string(prefix.length) + ": did you mean a " +
                                     "different length or the network address?"};
    }
    return prefix;
}

std::string IpPrefix::to_string() const {
    return address.to_string() + "/" + std::to_string(length);
}

} // namespace flowwall
