// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/interface_entries.h"

#include <gtest/gtest.h>

namespace flowwall::daemon {
namespace {

IpAddress ip(const char* text) {
    return IpAddress::parse(text).value();
}

std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
    std::vector<IpAddress> out;
    for (const char* text : texts)
        out.push_back(ip(text));
    return out;
}

TEST(InterfaceEntry, JoinsTheRuntimesAndTheInterfacesAddressesOnce) {
    const datapath::MacAddress mac{0x02, 0x42, 0xc6, 0x12, 0x00, 0x02};
    auto entry = interface_entry(300, mac, ips({"198.18.0.2", "fd00::2"}),
                                 ips({"198.18.0.2", "fd00::2", "fe80::42:c6ff:fe12:2"}));
    EXPECT_EQ(entry.workload.identity, 300u);
    EXPECT_EQ(entry.workload.mac, mac);
    EXPECT_EQ(entry.workload.addresses, ips({"198.18.0.2", "fd00::2", "fe80::42:c6ff:fe12:2"}));
    EXPECT_TRUE(entry.left_out.empty());
    EXPECT_TRUE(datapath::iface_value_of(entry.workload)) << "fits the map's value";
}

TEST(InterfaceEntry, WithoutANamespaceOnlyTheRuntimesAddressesAndNoMac) {
    auto entry = interface_entry(300, std::nullopt, ips({"198.18.0.2"}), {});
    EXPECT_EQ(entry.workload.addresses, ips({"198.18.0.2"}));
    EXPECT_FALSE(entry.workload.mac.has_value());
}

TEST(InterfaceEntry, WhenTooManyTheRuntimesAndLinkLocalComeFirstAndTheRestIsNamed) {
    // Seven IPv6 addresses on the interface (one more than FW_IFACE_MAX_V6), five IPv4.
    auto entry =
        interface_entry(300, std::nullopt, ips({"fd00::9", "198.18.0.9"}),
                        ips({"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4", "fd00::1",
                             "fd00::2", "fd00::3", "fd00::4", "fd00::5", "fe80::1"}));
    const auto& kept = entry.workload.addresses;
    ASSERT_TRUE(datapath::iface_value_of(entry.workload)) << "what is kept fits";
    EXPECT_EQ(kept.front(), ip("fd00::9"));
    EXPECT_NE(std::find(kept.begin(), kept.end(), ip("198.18.0.9")), kept.end());
    EXPECT_NE(std::find(kept.begin(), kept.end(), ip("fe80::1")), kept.end())
        << "link-local is kept before other interface addresses";
    EXPECT_EQ(entry.left_out, ips({"198.18.0.4", "fd00::5"}));
    EXPECT_EQ(kept.size() + entry.left_out.size(), 12u);
}

} // namespace
} // namespace flowwall::daemon
