// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/interface_entries.h"

#include <gtest/gtest.h>

namespace flowwall::daemon {
namespace {

IpAddress ip(const char* text) {
    return IpAddress::parse(text).value();
}

bool nobody_else(const IpAddress&) {
    return false;
}

std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
    std::vector<IpAddress> out;
    for (const char* text : texts)
        out.push_back(ip(text));
    return out;
}

TEST(InterfaceEntry, JoinsTheRuntimesAndTheInterfacesAddressesOnce) {
    const datapath::MacAddress mac{0x02, 0x42, 0xc6, 0x12, 0x00, 0x02};
    auto entry =
        interface_entry(300, mac, ips({"198.18.0.2", "fd00::2"}),
                        ips({"198.18.0.2", "fd00::2", "fe80::42:c6ff:fe12:2"}), nobody_else);
    EXPECT_EQ(entry.workload.identity, 300u);
    EXPECT_EQ(entry.workload.mac, mac);
    EXPECT_EQ(entry.workload.addresses, ips({"198.18.0.2", "fd00::2", "fe80::42:c6ff:fe12:2"}));
    EXPECT_TRUE(entry.left_out.empty());
    EXPECT_TRUE(datapath::iface_value_of(entry.workload)) << "fits the map's value";
}

TEST(InterfaceEntry, WithoutANamespaceOnlyTheRuntimesAddressesAndNoMac) {
    auto entry = interface_entry(300, std::nullopt, ips({"198.18.0.2"}), {}, nobody_else);
    EXPECT_EQ(entry.workload.addresses, ips({"198.18.0.2"}));
    EXPECT_FALSE(entry.workload.mac.has_value());
}

TEST(InterfaceEntry, WhenTooManyTheRuntimesComeFirstAndTheRestIsNamed) {
    // Seven IPv6 addresses from the runtime and the interface (one more than FW_IFACE_MAX_V6).
    auto entry =
        interface_entry(300, std::nullopt,
                        ips({"fd00::9", "198.18.0.9", "fd00::1", "fd00::2", "fd00::3", "fd00::4"}),
                        ips({"fe80::1", "fe80::2"}), nobody_else);
    const auto& kept = entry.workload.addresses;
    ASSERT_TRUE(datapath::iface_value_of(entry.workload)) << "what is kept fits";
    EXPECT_EQ(kept.front(), ip("fd00::9"));
    EXPECT_NE(std::find(kept.begin(), kept.end(), ip("198.18.0.9")), kept.end());
    EXPECT_NE(std::find(kept.begin(), kept.end(), ip("fe80::1")), kept.end());
    EXPECT_EQ(entry.left_out, ips({"fe80::2"}));
}

// A workload that may change its own interface (CAP_NET_ADMIN) adds a neighbour's address, or
// one nobody owns: neither becomes an address it may send from.
TEST(InterfaceEntry, AddressesTheWorkloadAddedItselfAreNotTrusted) {
    auto neighbours = [](const IpAddress& address) {
        return address == ip("198.18.0.3") || address == ip("fe80::3");
    };
    auto entry = interface_entry(
        300, std::nullopt, ips({"198.18.0.2"}),
        ips({"198.18.0.2", "198.18.0.3", "198.18.0.77", "fd00::77", "fe80::2", "fe80::3"}),
        neighbours);
    EXPECT_EQ(entry.workload.addresses, ips({"198.18.0.2", "fe80::2"}));
    EXPECT_EQ(entry.untrusted, ips({"198.18.0.3", "198.18.0.77", "fd00::77", "fe80::3"}));
}

} // namespace
} // namespace flowwall::daemon
