// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/ip_address.h"
#include "src/datapath/map_keys.h"

#include <gtest/gtest.h>

namespace flowwall::datapath {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndPrintsThemBack) {
    auto v4 = IpAddress::parse("198.18.0.1");
    ASSERT_TRUE(v4.ok());
    EXPECT_EQ(v4.value().family, FW_FAMILY_IPV4);
    EXPECT_EQ(v4.value().to_string(), "198.18.0.1");
    auto v6 = IpAddress::parse("fd00:198:18::10");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6.value().family, FW_FAMILY_IPV6);
    EXPECT_EQ(v6.value().to_string(), "fd00:198:18::10");
}

TEST(IpAddress, RejectsTextThatIsNotAnAddressAndSaysWhat) {
    for (const char* bad : {"", "198.18.0", "198.18.0.256", "fd00::1::2", "web", "198.18.0.1/32"}) {
        auto parsed = IpAddress::parse(bad);
        ASSERT_FALSE(parsed.ok()) << bad;
        EXPECT_NE(parsed.error().message.find(std::string("'") + bad + "'"), std::string::npos);
    }
}

TEST(IpAddress, Ipv4KeysLeaveTheUpperBytesZero) {
    auto address = IpAddress::parse("198.18.5.6").value();
    fw_ipcache_key key = ipcache_key(address);
    EXPECT_EQ(key.family, FW_FAMILY_IPV4);
    EXPECT_EQ(key.addr.bytes[0], 198);
    EXPECT_EQ(key.addr.bytes[3], 6);
    for (int i = 4; i < 16; ++i)
        EXPECT_EQ(key.addr.bytes[i], 0) << i;
    EXPECT_EQ(IpAddress::from_abi(FW_FAMILY_IPV4, key.addr), address);
}

TEST(IpPrefix, ParsesLengthsAndBuildsLpmKeys) {
    auto prefix = IpPrefix::parse("198.18.0.0/15");
    ASSERT_TRUE(prefix.ok()) << prefix.error().to_string();
    EXPECT_EQ(prefix.value().length, 15);
    EXPECT_EQ(cidr_key(prefix.value()).prefixlen, FW_CIDR_PREFIX_BASE + 15u);
    EXPECT_EQ(IpPrefix::parse("fd00::/8").value().to_string(), "fd00::/8");
    EXPECT_EQ(IpPrefix::parse("198.18.0.9").value().length, 32) << "a bare address is a host";
}

TEST(IpPrefix, RejectsBadLengthsAndHostBits) {
    EXPECT_FALSE(IpPrefix::parse("198.18.0.0/33").ok());
    EXPECT_FALSE(IpPrefix::parse("fd00::/129").ok());
    EXPECT_FALSE(IpPrefix::parse("198.18.0.0/").ok());
    EXPECT_FALSE(IpPrefix::parse("198.18.0.0/1x").ok());
    auto host_bits = IpPrefix::parse("198.18.0.1/24");
    ASSERT_FALSE(host_bits.ok());
    EXPECT_NE(host_bits.error().message.find("host bits"), std::string::npos);
}

TEST(Result, CarriesErrnoAndContext) {
    Result<int> failed = Error::from_errno(-EPERM, "attach tcx ingress on veth0");
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().errnum, EPERM);
    EXPECT_EQ(failed.error().to_string(), "attach tcx ingress on veth0: Operation not permitted");
    EXPECT_THROW(std::move(failed).value_or_throw(), DatapathError);
    Result<int> fine = 7;
    EXPECT_EQ(std::move(fine).value_or_throw(), 7);
}

} // namespace
} // namespace flowwall::datapath
