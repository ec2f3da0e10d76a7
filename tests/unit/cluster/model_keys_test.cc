// SPDX-License-Identifier: Apache-2.0
// The model's keys and values in the store (cluster_keys.h flows/ and identities/,
// model_values.h): built ones read back, and every kind of hostile key or value is refused
// with a message that says what was wrong.
#include "src/cluster/cluster_keys.h"
#include "src/cluster/model_values.h"

#include <gtest/gtest.h>

namespace flowwall::cluster {
namespace {

using namespace std::chrono_literals;

policy::TimePoint at(int64_t seconds) {
    return policy::TimePoint(std::chrono::seconds(seconds));
}

TEST(ModelKeys, FlowKeysAreVersionedPerNodeAndParseBack) {
    policy::FlowKey flow{"registry.local/shop/web:1.2", "db", 5432, 6};
    EXPECT_EQ(flow_key("node-1", flow),
              "flowwall/v1/flows/node-1/registry.local/shop/web:1.2,db,5432,6");
    auto parsed = parse_key(flow_key("node-1", flow));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed.value().kind, KeyKind::flow);
    EXPECT_EQ(parsed.value().node, "node-1");
    EXPECT_EQ(parsed.value().flow, flow);
    auto icmp = parse_key(flow_key("n2", {"web", "world", 0, 1}));
    ASSERT_TRUE(icmp) << icmp.error().message;
    EXPECT_EQ(icmp.value().flow.protocol, 1);
}

TEST(ModelKeys, IdentityKeysParseBack) {
    EXPECT_EQ(identity_key("n1", "shop/web"), "flowwall/v1/identities/n1/shop/web");
    auto parsed = parse_key(identity_key("n1", "shop/web"));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed.value().kind, KeyKind::identity);
    EXPECT_EQ(parsed.value().identity, "shop/web");
}

TEST(ModelKeys, BadFlowAndIdentityKeysAreRefusedNamingTheKey) {
    const std::pair<const char*, const char*> cases[] = {
        {"flowwall/v1/flows/n1", "expected flows/<node>/"},
        {"flowwall/v1/flows/N1/web,db,80,6", "lower-case letter"},
        {"flowwall/v1/flows/n1/web,db,80", "<src>,<dst>,<port>,<protocol>"},
        {"flowwall/v1/flows/n1/web,db,80,6,1", "<src>,<dst>,<port>,<protocol>"},
        {"flowwall/v1/flows/n1/web,db,080,6", "without leading zeros"},
        {"flowwall/v1/flows/n1/web,db,65536,6", "port must be 0-65535"},
        {"flowwall/v1/flows/n1/web,db,80,256", "protocol 0-255"},
        {"flowwall/v1/flows/n1/web,db,-1,6", "port must be"},
        {"flowwall/v1/flows/n1/web,db,80,1", "port"}, // icmp has no port
        {"flowwall/v1/flows/n1/,db,80,6", "src"},
        {"flowwall/v1/flows/n1/web,d b,80,6", "dst"},
        {"flowwall/v1/identities/n1/", "identity name is empty"},
        {"flowwall/v1/identities/n1/-x", "'-'"},
        {"flowwall/v1/identities/n1", "expected identities/<node>/"},
    };
    for (const auto& [key, why] : cases) {
        auto parsed = parse_key(key);
        ASSERT_FALSE(parsed) << key;
        EXPECT_NE(
            parsed.error().message.find(std::string("key \"") + std::string(key).substr(0, 20)),
            std::string::npos)
            << parsed.error().message;
        EXPECT_NE(parsed.error().message.find(why), std::string::npos)
            << key << ": " << parsed.error().message;
    }
}

TEST(ModelValues, FlowRoundTripsWithoutNodesAndWithTheKeyFromTheStoreKey) {
    policy::FlowRecord record;
    record.key = {"web", "db", 5432, 6};
    record.first_seen = at(1'800'000'000);
    record.last_seen = at(1'800'000'100);
    record.count = 7;
    record.nodes = {"n1", "n2"};
    record.workloads = {"web-1", "web-2"};
    record.origin = "learned";
    auto decoded = decode_flow(record.key, encode_flow(record));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_FALSE(decoded.value().removed);
    policy::FlowRecord expected = record;
    expected.nodes.clear(); // the key's node, never the value's word
    EXPECT_EQ(decoded.value().record, expected);

    policy::FlowKey other{"cache", "db", 5432, 6};
    auto renamed = decode_flow(other, encode_flow(record));
    ASSERT_TRUE(renamed);
    EXPECT_EQ(renamed.value().record.key, other) << "a value cannot say which flow it is";

    auto removal = decode_flow(record.key, encode_flow_removal());
    ASSERT_TRUE(removal) << removal.error().message;
    EXPECT_TRUE(removal.value().removed);
}

TEST(ModelValues, ALongListOfWorkloadsIsCutToFitTheValueLimit) {
    policy::FlowRecord record;
    record.key = {"web", "db", 80, 6};
    record.first_seen = record.last_seen = at(1'800'000'000);
    for (int i = 0; i < 16; ++i)
        record.workloads.insert(std::string(240, static_cast<char>('a' + i)) + "x");
    std::string text = encode_flow(record);
    EXPECT_LE(text.size(), kMaxFlowValueBytes);
    auto decoded = decode_flow(record.key, text);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_FALSE(decoded.value().record.workloads.empty());
}

TEST(ModelValues, BadFlowValuesAreRefusedSayingWhy) {
    policy::FlowKey key{"web", "db", 80, 6};
    const std::string good_times =
        R"("first_seen":"2027-01-01T00:00:00Z","last_seen":"2027-01-01T00:00:01Z")";
    const std::pair<std::string, const char*> cases[] = {
        {"", "not JSON"},
        {"[]", "not a JSON object"},
        {std::string(kMaxFlowValueBytes + 1, ' '), "bytes; at most"},
        {R"({"v":2,"removed":true})", "version 2"},
        {R"({"v":1,"removed":false})", "a removal is exactly"},
        {R"({"v":1,"removed":true,"count":1})", "a removal is exactly"},
        {R"({"v":1,)" + good_times + R"(,"count":1,"origin":"learned","src":"world"})",
         "belongs in the key"},
        {R"({"v":1,)" + good_times + R"(,"count":1,"origin":"learned","nodes":["n2"]})",
         "belongs in the key"},
        {R"({"v":1,)" + good_times + R"(,"origin":"learned"})", "no \"count\""},
        {R"({"v":1,)" + good_times + R"(,"count":-1,"origin":"learned"})", "count"},
        {R"({"v":1,)" + good_times + R"(,"count":1,"origin":"trusted"})", "origin"},
        {R"({"v":1,"first_seen":"yesterday","last_seen":"2027-01-01T00:00:00Z","count":1,"origin":"learned"})",
         "first_seen"},
        {R"({"v":1,)" + good_times + R"(,"count":1,"origin":"learned","extra":1})", "extra"},
    };
    for (const auto& [value, why] : cases) {
        auto decoded = decode_flow(key, value);
        ASSERT_FALSE(decoded) << value;
        EXPECT_NE(decoded.error().message.find(why), std::string::npos)
            << value.substr(0, 100) << ": " << decoded.error().message;
    }
}

TEST(ModelValues, IdentitySightingsRoundTripAndBadOnesAreRefused) {
    auto decoded = decode_identity_seen(encode_identity_seen(at(1'800'000'000)));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded.value(), at(1'800'000'000));
    for (const char* bad : {"{}", R"({"v":1})", R"({"v":1,"first_seen":5})",
                            R"({"v":1,"first_seen":"2027-01-01T00:00:00+01:00"})",
                            R"({"v":1,"first_seen":"2027-01-01T00:00:00Z","x":1})"})
        EXPECT_FALSE(decode_identity_seen(bad)) << bad;
}

} // namespace
} // namespace flowwall::cluster
