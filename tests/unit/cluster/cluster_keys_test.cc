// SPDX-License-Identifier: Apache-2.0
// The cluster's key layout: keys built here parse back to what built them, and every key
// outside the layout (another version, another folder, a bad node name, a second spelling of
// an address) is refused with the key in the message.
#include "src/cluster/cluster_keys.h"

#include <gtest/gtest.h>

namespace flowwall::cluster {
namespace {

IpAddress address(const char* text) {
    return IpAddress::parse(text).value();
}

TEST(ClusterKeys, LayoutIsVersionedAndPerNode) {
    EXPECT_EQ(node_key("node-1"), "flowwall/v1/nodes/node-1");
    EXPECT_EQ(endpoint_key("node-1", address("198.18.1.2")),
              "flowwall/v1/endpoints/node-1/198.18.1.2");
    EXPECT_EQ(endpoint_key("node-1", address("fd00::1")), "flowwall/v1/endpoints/node-1/fd00::1");
    EXPECT_EQ(node_endpoints_prefix("node-1"), "flowwall/v1/endpoints/node-1/");
}

TEST(ClusterKeys, BuiltKeysParseBack) {
    auto node = parse_key(node_key("a.b-c_d"));
    ASSERT_TRUE(node) << node.error().message;
    EXPECT_EQ(node.value().kind, KeyKind::node);
    EXPECT_EQ(node.value().node, "a.b-c_d");
    for (const char* text : {"198.18.1.2", "fd00::1"}) {
        auto endpoint = parse_key(endpoint_key("n1", address(text)));
        ASSERT_TRUE(endpoint) << endpoint.error().message;
        EXPECT_EQ(endpoint.value().kind, KeyKind::endpoint);
        EXPECT_EQ(endpoint.value().node, "n1");
        EXPECT_EQ(endpoint.value().address, address(text));
    }
}

TEST(ClusterKeys, KeysOutsideTheLayoutAreRefusedNamingTheKey) {
    const std::pair<const char*, const char*> cases[] = {
        {"flowwall/v2/nodes/n1", "not under flowwall/v1/"},
        {"other/thing", "not under flowwall/v1/"},
        {"flowwall/v1/nodes", "no folder"},
        {"flowwall/v1/secrets/n1", "unknown folder \"secrets\""},
        {"flowwall/v1/nodes/", "node name is empty"},
        {"flowwall/v1/nodes/Node1", "must start with a lower-case letter"},
        {"flowwall/v1/nodes/n1/extra", "may contain only"},
        {"flowwall/v1/endpoints/n1", "expected endpoints/<node>/<address>"},
        {"flowwall/v1/endpoints/n1/not-an-address", "not-an-address"},
        {"flowwall/v1/endpoints/n1/198.18.1.2/32", "198.18.1.2/32"},
        {"flowwall/v1/endpoints/n1/FD00::1", "not in canonical form (fd00::1)"},
        {"flowwall/v1/endpoints/n1/fd00:0::1", "not in canonical form"},
        {"flowwall/v1/endpoints/../n2/198.18.1.2", "must start with a lower-case letter"},
    };
    for (const auto& [key, why] : cases) {
        auto parsed = parse_key(key);
        ASSERT_FALSE(parsed) << key;
        EXPECT_NE(parsed.error().message.find(why), std::string::npos)
            << key << ": " << parsed.error().message;
        EXPECT_NE(parsed.error().message.find(std::string("key \"") + key), std::string::npos)
            << parsed.error().message;
    }
}

TEST(ClusterKeys, NodeNames) {
    EXPECT_TRUE(validate_node_name("node-1"));
    EXPECT_TRUE(validate_node_name("ip-10-0-0-1.ec2.internal"));
    EXPECT_TRUE(validate_node_name(std::string(63, 'a')));
    EXPECT_FALSE(validate_node_name(std::string(64, 'a')));
    EXPECT_FALSE(validate_node_name("a/b"));
    EXPECT_FALSE(validate_node_name("-a"));
    EXPECT_FALSE(validate_node_name(std::string("a\0b", 3)));
}

TEST(ClusterKeys, PrefixRangeEndCoversExactlyThePrefix) {
    EXPECT_EQ(prefix_range_end("flowwall/v1/"), "flowwall/v10");
    EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
    EXPECT_EQ(prefix_range_end(std::string("\xff", 1)), std::string(1, '\0'));
}

} // namespace
} // namespace flowwall::cluster
