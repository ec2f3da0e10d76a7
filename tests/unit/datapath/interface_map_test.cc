// SPDX-License-Identifier: Apache-2.0
// The conversions between the daemon's view of a guarded interface and fw_ifaces_v1's
// fixed-size entry (the map itself: tests/bpf/interface_map_test.cc).
#include "src/datapath/interface_map.h"

#include <gtest/gtest.h>

namespace flowwall::datapath {
namespace {

IpAddress ip(const char* text) {
    return IpAddress::parse(text).value();
}

TEST(InterfaceWorkload, RoundTripsThroughTheMapEntry) {
    InterfaceWorkload info{
        .identity = 1000,
        .mac = parse_mac("02:42:c6:12:00:0a").value(),
        .addresses = {ip("198.18.1.10"), ip("fe80::42:c6ff:fe12:a"), ip("fd00:198:18::10")}};
    auto value = iface_value_of(info);
    ASSERT_TRUE(value.ok()) << value.error().to_string();
    EXPECT_EQ(value.value().identity, 1000u);
    EXPECT_EQ(value.value().flags, static_cast<uint32_t>(FW_IFACE_F_MAC_KNOWN));
    EXPECT_EQ(value.value().v4_count, 1);
    EXPECT_EQ(value.value().v6_count, 2);
    EXPECT_EQ(value.value().mac[5], 0x0a);
    EXPECT_EQ(value.value().v6[0].bytes[0], 0xfe);
    EXPECT_EQ(interface_workload_of(value.value()), info);
}

TEST(InterfaceWorkload, WithoutMacTheFlagStaysClear) {
    auto value = iface_value_of({.identity = 7, .mac = std::nullopt, .addresses = {}});
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(value.value().flags, 0u);
    EXPECT_FALSE(interface_workload_of(value.value()).mac.has_value());
}

TEST(InterfaceWorkload, TooManyAddressesIsAnErrorThatNamesTheLimit) {
    InterfaceWorkload info{.identity = 1000, .mac = std::nullopt, .addresses = {}};
    for (int i = 0; i <= FW_IFACE_MAX_V4; ++i)
        info.addresses.push_back(ip(("198.18.1." + std::to_string(10 + i)).c_str()));
    auto value = iface_value_of(info);
    ASSERT_FALSE(value.ok());
    EXPECT_NE(value.error().message.find("FW_IFACE_MAX_V4"), std::string::npos)
        << value.error().message;
}

TEST(InterfaceWorkload, IdentityZeroIsRefused) {
    auto value = iface_value_of({.identity = 0, .mac = std::nullopt, .addresses = {}});
    ASSERT_FALSE(value.ok());
    EXPECT_NE(value.error().message.find("identity"), std::string::npos);
}

TEST(InterfaceKey, PadIsZeroAndFieldsRoundTrip) {
    fw_iface_key key = iface_key_of({.netns_cookie = 0x1122334455667788ull, .ifindex = 9});
    EXPECT_EQ(key.pad, 0u);
    EXPECT_EQ(interface_key_of(key), (InterfaceKey{0x1122334455667788ull, 9}));
}

TEST(MacAddress, ParsesBothSeparatorsAndRefusesGarbage) {
    EXPECT_EQ(mac_to_string(parse_mac("02-42-C6-12-00-0A").value()), "02:42:c6:12:00:0a");
    for (const char* bad : {"", "02:42:c6:12:00", "02:42:c6:12:00:0a:ff", "02:42-c6:12:00:0a",
                            "zz:42:c6:12:00:0a", "2:42:c6:12:00:0a"}) {
        auto mac = parse_mac(bad);
        EXPECT_FALSE(mac.ok()) << bad;
        if (!mac.ok()) {
            EXPECT_NE(mac.error().message.find("not a MAC"), std::string::npos);
        }
    }
}

} // namespace
} // namespace flowwall::datapath
