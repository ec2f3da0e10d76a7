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

} // namespace
} // namespace flowwall::datapath
