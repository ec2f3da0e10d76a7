// SPDX-License-Identifier: Apache-2.0
// fw_ifaces_v1 through its wrapper on a loaded object, and the netns cookie user space puts
// in its keys.
#include <sched.h>

#include <thread>

#include "src/datapath/netns.h"
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

using datapath::InterfaceKey;
using datapath::InterfaceWorkload;

class InterfaceMapTest : public FirewallFixture {};

IpAddress ip(const char* text) {
    return IpAddress::parse(text).value();
}

TEST_F(InterfaceMapTest, PutLookupReplaceEraseList) {
    auto& ifaces = maps().ifaces;
    InterfaceKey key{.netns_cookie = 77, .ifindex = 5};
    InterfaceKey other_netns{.netns_cookie = 78, .ifindex = 5};
    InterfaceWorkload web_info{.identity = web.identity,
                               .mac = datapath::parse_mac("02:42:c6:12:01:0a").value(),
                               .addresses = {ip("198.18.1.10"), ip("fe80::1")}};

    ASSERT_TRUE(ifaces.put(key, web_info).ok());
    EXPECT_EQ(ifaces.lookup(key), web_info);
    EXPECT_FALSE(ifaces.lookup(other_netns).has_value())
        << "the same ifindex in another namespace is another interface";

    InterfaceWorkload db_info{
        .identity = db.identity, .mac = std::nullopt, .addresses = {ip("198.18.1.20")}};
    ASSERT_TRUE(ifaces.put(other_netns, db_info).ok());
    web_info.addresses.push_back(ip("fd00:198:18::10"));
    ASSERT_TRUE(ifaces.put(key, web_info).ok());
    EXPECT_EQ(ifaces.lookup(key), web_info) << "put replaces";
    EXPECT_EQ(ifaces.count(), 2u);

    auto entries = ifaces.entries();
    ASSERT_EQ(entries.size(), 2u);
    ASSERT_TRUE(ifaces.erase(key).ok());
    ASSERT_TRUE(ifaces.erase(key).ok()) << "erasing an absent entry is no error";
    EXPECT_FALSE(ifaces.lookup(key).has_value());
    EXPECT_EQ(ifaces.lookup(other_netns), db_info);
}

TEST_F(InterfaceMapTest, TooManyAddressesLeavesTheEntryAsItWas) {
    auto& ifaces = maps().ifaces;
    InterfaceKey key{.netns_cookie = 1, .ifindex = 2};
    InterfaceWorkload info{.identity = web.identity, .mac = std::nullopt, .addresses = {}};
    ASSERT_TRUE(ifaces.put(key, info).ok());
    for (int i = 0; i <= FW_IFACE_MAX_V6; ++i)
        info.addresses.push_back(ip(("fd00::" + std::to_string(i + 1)).c_str()));
    EXPECT_FALSE(ifaces.put(key, info).ok());
    EXPECT_TRUE(ifaces.lookup(key)->addresses.empty());
}

TEST(NetnsCookie, OwnNamespaceByPathEqualsTheCurrentOneAndANewNamespaceDiffers) {
    FLOWWALL_REQUIRE_ROOT("creates a network namespace");
    auto here = datapath::netns_cookie_of("");
    ASSERT_TRUE(here.ok()) << here.error().to_string();
    auto by_path = datapath::netns_cookie_of("/proc/self/ns/net");
    ASSERT_TRUE(by_path.ok()) << by_path.error().to_string();
    EXPECT_EQ(here.value(), by_path.value());

    // unshare() on a thread of its own: only that thread moves into the new namespace.
    uint64_t fresh = 0;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) == 0) {
            if (auto cookie = datapath::netns_cookie_in_entered_netns())
                fresh = cookie.value();
        }
    }).join();
    ASSERT_NE(fresh, 0u);
    EXPECT_NE(fresh, here.value());
}

TEST(NetnsCookie, AMissingNamespaceIsAClearError) {
    auto cookie = datapath::netns_cookie_of("/run/netns/flowwall-no-such-netns");
    ASSERT_FALSE(cookie.ok());
    EXPECT_NE(cookie.error().message.find("flowwall-no-such-netns"), std::string::npos)
        << cookie.error().message;
}

} // namespace
} // namespace flowwall::testing
