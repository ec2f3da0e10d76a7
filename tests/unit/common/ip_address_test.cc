// SPDX-License-Identifier: Apache-2.0
#include "src/common/ip_address.h"
#include "src/common/result.h"

#include <gtest/gtest.h>

namespace flowwall {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndPrintsThemBack) {
    auto v4 = IpAddress::parse("198.18.0.1");
    ASSERT_TRUE(v4.ok());
    EXPECT_EQ(v4.value().family, kFamilyIpv4);
    EXPECT_EQ(v4.value().to_string(), "198.18.0.1");
    auto v6 = IpAddress::parse("fd00:198:18::10");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6.value().family, kFamilyIpv6);
    EXPECT_EQ(v6.value().to_string(), "fd00:198:18::10");
}

TEST(IpAddress, RejectsTextThatIsNotAnAddressAndSaysWhat) {
    for (const char* bad : {"", "198.18.0", "198.18.0.256", "fd00::1::2", "web", "198.18.0.1/32"}) {
        auto parsed = IpAddress::parse(bad);
        ASSERT_FALSE(parsed.ok()) << bad;
        EXPECT_NE(parsed.error().message.find(std::string("'") + bad + "'"), std::string::npos);
    }
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
    EXPECT_THROW(std::move(failed).value_or_throw(), FatalError);
    Result<int> fine = 7;
    EXPECT_EQ(std::move(fine).value_or_throw(), 7);
}

} // namespace
} // namespace flowwall
