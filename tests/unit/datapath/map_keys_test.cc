// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/map_keys.h"

#include <gtest/gtest.h>

namespace flowwall::datapath {
namespace {

TEST(IpAddress, Ipv4KeysLeaveTheUpperBytesZero) {
    auto address = IpAddress::parse("198.18.5.6").value();
    fw_ipcache_key key = ipcache_key(address);
    EXPECT_EQ(key.family, FW_FAMILY_IPV4);
    EXPECT_EQ(key.addr.bytes[0], 198);
    EXPECT_EQ(key.addr.bytes[3], 6);
    for (int i = 4; i < 16; ++i)
        EXPECT_EQ(key.addr.bytes[i], 0) << i;
    EXPECT_EQ(address_of(FW_FAMILY_IPV4, key.addr), address);
}

TEST(IpPrefix, ParsesLengthsAndBuildsLpmKeys) {
    auto prefix = IpPrefix::parse("198.18.0.0/15");
    ASSERT_TRUE(prefix.ok()) << prefix.error().to_string();
    EXPECT_EQ(prefix.value().length, 15);
    EXPECT_EQ(cidr_key(prefix.value()).prefixlen, FW_CIDR_PREFIX_BASE + 15u);
    EXPECT_EQ(IpPrefix::parse("fd00::/8").value().to_string(), "fd00::/8");
    EXPECT_EQ(IpPrefix::parse("198.18.0.9").value().length, 32) << "a bare address is a host";
}

TEST(MapKeys, LpmKeysOffsetThePrefixPastTheFamilyByte) {
    auto prefix = IpPrefix::parse("198.18.0.0/15");
    ASSERT_TRUE(prefix.ok()) << prefix.error().to_string();
    EXPECT_EQ(cidr_key(prefix.value()).prefixlen, FW_CIDR_PREFIX_BASE + 15u);
}

TEST(MapKeys, PrefixOfIsTheInverseOfCidrKey) {
    for (const char* text : {"198.18.0.0/15", "198.18.7.9/32", "0.0.0.0/0", "fd00:bad::/32",
                             "2001:db8::1/128", "::/0"}) {
        auto prefix = IpPrefix::parse(text).value();
        EXPECT_EQ(prefix_of(cidr_key(prefix)), prefix) << text;
    }
}

// The deny filter's blocks (abi.h): IPv4 by /24 into the first 2^24 bits, IPv6 by a hash of
// the /32 into the 2^22 after them; lengths slots by IPv4 /16, then hashed IPv6 /32s.
TEST(DenyLayout, BlocksOfBothFamiliesStayInTheirOwnRanges) {
    EXPECT_EQ(fw_deny_filter_bit(FW_FAMILY_IPV4, 0xC6120509u), 0xC61205u);
    EXPECT_EQ(fw_deny_lengths_slot(FW_FAMILY_IPV4, 0xC6120509u), 0xC612u);
    for (uint32_t top : {0u, 0x20010db8u, 0xfd000bad, 0xffffffffu}) {
        uint32_t bit = fw_deny_filter_bit(FW_FAMILY_IPV6, top);
        EXPECT_GE(bit, FW_DENY_V4_FILTER_BITS) << top;
        EXPECT_LT(bit / 64, FW_DENY_FILTER_WORDS) << top;
        uint32_t slot = fw_deny_lengths_slot(FW_FAMILY_IPV6, top);
        EXPECT_GE(slot, 1u << 16) << top;
        EXPECT_LT(slot, FW_DENY_LENGTHS_SLOTS) << top;
    }
    // Neighbouring /32s do not share a block (the hash spreads them).
    EXPECT_NE(fw_deny_filter_bit(FW_FAMILY_IPV6, 0x20010db8u),
              fw_deny_filter_bit(FW_FAMILY_IPV6, 0x20010db9u));
}

} // namespace
} // namespace flowwall::datapath
