// SPDX-License-Identifier: Apache-2.0
// Values read from the store: what this build writes reads back, and every kind of bad value
// (not JSON, oversized, another version, bad or reserved identity names, wrong types, control
// characters, addresses no workload holds) is refused with a message saying what was wrong.
#include "src/cluster/store_values.h"

#include <gtest/gtest.h>

namespace flowwall::cluster {
namespace {

TEST(StoreValues, EndpointRoundTrips) {
    EndpointRecord record{"registry.local/shop/web", "web-1"};
    auto decoded = decode_endpoint(encode_endpoint(record));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded.value(), record);
}

TEST(StoreValues, NodeRoundTripsWithTheNameFromTheKey) {
    NodeRecord record{"n1", "0.1.0", 1700000000, "ok", 3};
    auto decoded = decode_node("n1", encode_node(record));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded.value(), record);
    auto renamed = decode_node("n2", encode_node(record));
    ASSERT_TRUE(renamed);
    EXPECT_EQ(renamed.value().name, "n2") << "a value cannot say which node it is";
}

TEST(StoreValues, BadEndpointValuesAreRefusedSayingWhy) {
    const std::pair<std::string, const char*> cases[] = {
        {"", "not JSON"},
        {"{", "not JSON"},
        {"[1,2]", "not a JSON object"},
        {R"({"identity":"web"})", "no integer version"},
        {R"({"v":"1","identity":"web"})", "no integer version"},
        {R"({"v":2,"identity":"web"})", "version 2; this node reads 1"},
        {R"({"v":1})", "no \"identity\""},
        {R"({"v":1,"identity":7})", "\"identity\" is number, expected a string"},
        {R"({"v":1,"identity":""})", "identity name is empty"},
        {R"({"v":1,"identity":"-rm"})", "starts with '-'"},
        {R"({"v":1,"identity":"we b"})", "contains"},
        {R"({"v":1,"identity":"world"})", "is reserved"},
        {R"({"v":1,"identity":"host"})", "is reserved"},
        {R"({"v":1,"identity":"unknown"})", "is reserved"},
        {R"({"v":1,"identity":"web","workload":"a\u0001b"})", "control character"},
        {R"({"v":1,"identity":"web","workload":[]})", "\"workload\" is array"},
        {std::string(R"({"v":1,"identity":"web","workload":")") + std::string(300, 'x') + "\"}",
         "longer than 256 bytes"},
        {std::string(5000, ' '), "5000 bytes; at most 4096"},
        {std::string(2000, '[') + std::string(2000, ']'), "not a JSON object"},
    };
    for (const auto& [value, why] : cases) {
        auto decoded = decode_endpoint(value);
        ASSERT_FALSE(decoded) << value.substr(0, 80);
        EXPECT_NE(decoded.error().message.find(why), std::string::npos)
            << value.substr(0, 80) << ": " << decoded.error().message;
    }
}

TEST(StoreValues, BadNodeValuesAreRefusedSayingWhy) {
    const std::pair<std::string, const char*> cases[] = {
        {R"({"v":1,"version":"1","health":"ok"})", "started_at"},
        {R"({"v":1,"version":"1","health":"ok","started_at":-1})", "started_at"},
        {R"({"v":1,"version":"1","health":"great","started_at":1})", "not ok or degraded"},
        {R"({"v":1,"health":"ok","started_at":1})", "no \"version\""},
        {R"({"v":1,"version":"1","health":"ok","started_at":1,"workloads":-3})", "workloads"},
    };
    for (const auto& [value, why] : cases) {
        auto decoded = decode_node("n1", value);
        ASSERT_FALSE(decoded) << value;
        EXPECT_NE(decoded.error().message.find(why), std::string::npos)
            << value << ": " << decoded.error().message;
    }
}

TEST(StoreValues, OnlyAddressesAWorkloadCanHoldAreAccepted) {
    for (const char* good : {"198.18.1.2", "198.19.2.3", "203.0.113.9", "fd00::1", "2001:db8::5"})
        EXPECT_TRUE(validate_workload_address(IpAddress::parse(good).value())) << good;
    for (const char* bad :
         {"0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.0.1", "169.254.1.1", "224.0.0.1", "239.1.1.1",
          "240.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "ff02::1", "::ffff:198.18.1.2"}) {
        auto checked = validate_workload_address(IpAddress::parse(bad).value());
        ASSERT_FALSE(checked) << bad;
        EXPECT_NE(checked.error().message.find("no workload on another node can hold"),
                  std::string::npos)
            << checked.error().message;
    }
}

} // namespace
} // namespace flowwall::cluster
