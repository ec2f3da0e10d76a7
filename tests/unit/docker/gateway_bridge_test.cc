// SPDX-License-Identifier: Apache-2.0
// A Swarm task's docker_gwbridge address (gateway_bridge.h), read from real dockerd 20.10
// answers (fixtures/inspect_swarm_task.json and network_gwbridge.json, taken from the swarm
// tests/e2e/swarm starts), and bad answers that must be clear errors.
#include "src/identity/docker/gateway_bridge.h"

#include "src/identity/docker/container_inspect.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

namespace flowwall::identity::docker {
namespace {

using nlohmann::json;

const std::string kTask = "13b3196c214759e54eb97784e40ba744c6a6fcca63cab88a488eaf32ae70393a";
const std::string kOtherTask = "a5a7f201a36aa9278ffc7b0a4a39c1447fea5bf488a3d02f9ee3fb89867e7d3d";

json fixture(const std::string& name) {
    std::ifstream in(std::string(FLOWWALL_DOCKER_FIXTURES) + "/" + name);
    return json::parse(in);
}

IpAddress address(const char* text) {
    return IpAddress::parse(text).value();
}

TEST(GatewayBridge, EachTaskHasItsAddressAndDockersOwnSandboxIsSkipped) {
    auto parsed = parse_gateway_bridge(fixture("network_gwbridge.json"));
    ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
    const GatewayBridgeAddresses& addresses = parsed.value();
    EXPECT_EQ(addresses.size(), 2u) << "ingress-sbox is no container";
    ASSERT_TRUE(addresses.contains(kTask));
    EXPECT_EQ(addresses.at(kTask), std::vector<IpAddress>{address("198.18.202.4")});
    EXPECT_EQ(addresses.at(kOtherTask), std::vector<IpAddress>{address("198.18.202.3")});
}

TEST(GatewayBridge, AnUnusedBridgeHasNoAddresses) {
    for (const json& network :
         {json::object(), json{{"Containers", nullptr}}, json{{"Containers", json::object()}}}) {
        auto parsed = parse_gateway_bridge(network);
        ASSERT_TRUE(parsed.ok()) << network.dump();
        EXPECT_TRUE(parsed.value().empty());
    }
}

TEST(GatewayBridge, IPv6EndpointsCountToo) {
    json network = {
        {"Containers",
         {{kTask, {{"IPv4Address", "198.18.202.4/24"}, {"IPv6Address", "fd00::4/64"}}}}}};
    auto parsed = parse_gateway_bridge(network);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.value().at(kTask),
              (std::vector<IpAddress>{address("198.18.202.4"), address("fd00::4")}));
}

TEST(GatewayBridge, BadAnswersAreErrorsNamingTheField) {
    const std::vector<std::pair<json, std::string>> cases = {
        {json::array(), "(document)"},
        {json{{"Containers", "x"}}, "Containers"},
        {json{{"Containers", {{kTask, 1}}}}, "Containers.13b3196c2147"},
        {json{{"Containers", {{kTask, {{"IPv4Address", 7}}}}}},
         "Containers.13b3196c2147.IPv4Address"},
        {json{{"Containers", {{kTask, {{"IPv4Address", "198.18.300.4/24"}}}}}},
         "Containers.13b3196c2147.IPv4Address"},
    };
    for (const auto& [network, field] : cases) {
        auto parsed = parse_gateway_bridge(network);
        ASSERT_FALSE(parsed.ok()) << network.dump();
        EXPECT_NE(parsed.error().message.find("docker_gwbridge inspect: " + field + ":"),
                  std::string::npos)
            << parsed.error().message;
    }
}

TEST(GatewayBridge, OnlyContainersOnASwarmScopeNetworkHaveOne) {
    const json task = fixture("inspect_swarm_task.json");
    EXPECT_TRUE(on_swarm_scope_network(task));
    EXPECT_TRUE(parse_container_inspect(task).value().on_swarm_network);
    for (const char* name : {"inspect_web.json", "inspect_dual.json", "inspect_default.json",
                             "inspect_none.json", "inspect_host.json"}) {
        const json local = fixture(name);
        EXPECT_FALSE(on_swarm_scope_network(local)) << name;
        EXPECT_FALSE(parse_container_inspect(local).value().on_swarm_network) << name;
    }
    EXPECT_FALSE(on_swarm_scope_network(json::array()));
    EXPECT_FALSE(on_swarm_scope_network(json{{"NetworkSettings", {{"Networks", 3}}}}));
}

TEST(GatewayBridge, ATaskIsNamedByItsServiceAndOwnsItsOverlayAddress) {
    auto info = parse_container_inspect(fixture("inspect_swarm_task.json"));
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    auto workload = to_workload(info.value(), IdentityNaming{});
    ASSERT_TRUE(workload.has_value());
    EXPECT_EQ(workload->identity, "web");
    EXPECT_EQ(workload->addresses, std::vector<IpAddress>{address("198.18.208.199")})
        << "inspect lists the overlay address only; the bridge's comes from the network";
}

} // namespace
} // namespace flowwall::identity::docker
