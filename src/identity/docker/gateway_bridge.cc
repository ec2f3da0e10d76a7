// SPDX-License-Identifier: Apache-2.0
#include "src/identity/docker/gateway_bridge.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace flowwall::identity::docker {

using nlohmann::json;

namespace {

bool hex_id(std::string_view id) {
    return id.size() == 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
               return std::isdigit(c) || (c >= 'a' && c <= 'f');
           });
}

Error bad(const std::string& field, const std::string& problem) {
    return Error{0, "network docker_gwbridge inspect: " + field + ": " + problem};
}

} // namespace

Result<GatewayBridgeAddresses> parse_gateway_bridge(const json& network) {
    if (!network.is_object())
        return bad("(document)", std::string("expected an object, got ") + network.type_name());
    GatewayBridgeAddresses addresses;
    auto containers = network.find("Containers");
    // An unused network has null or {} (Docker omits the member in some versions).
    if (containers == network.end() || containers->is_null())
        return addresses;
    if (!containers->is_object())
        return bad("Containers", std::string("expected an object, got ") + containers->type_name());
    for (const auto& [id, endpoint] : containers->items()) {
        if (!hex_id(id))
            continue; // "ingress-sbox": Docker's own load-balancer namespace, no container
        const std::string field = "Containers." + id.substr(0, 12);
        if (!endpoint.is_object())
            return bad(field, std::string("expected an object, got ") + endpoint.type_name());
        std::vector<IpAddress>& own = addresses[id];
        for (const char* key : {"IPv4Address", "IPv6Address"}) {
            auto member = endpoint.find(key);
            if (member == endpoint.end() || member->is_null())
                continue;
            if (!member->is_string())
                return bad(field + "." + key,
                           std::string("expected a string, got ") + member->type_name());
            std::string text = member->get<std::string>();
            if (text.empty())
                continue;
            text = text.substr(0, text.find('/')); // "198.18.202.4/24": the prefix length goes
            auto address = IpAddress::parse(text);
            if (!address)
                return bad(field + "." + key, address.error().message);
            own.push_back(address.value());
        }
    }
    return addresses;
}

bool on_swarm_scope_network(const json& inspect) {
    if (!inspect.is_object())
        return false;
    auto settings = inspect.find("NetworkSettings");
    if (settings == inspect.end() || !settings->is_object())
        return false;
    auto networks = settings->find("Networks");
    if (networks == settings->end() || !networks->is_object())
        return false;
    for (const auto& [name, network] : networks->items()) {
        if (!network.is_object())
            continue;
        auto id = network.find("NetworkID");
        if (id != network.end() && id->is_string()) {
            const std::string text = id->get<std::string>();
            if (text.size() == 25 && std::all_of(text.begin(), text.end(), [](unsigned char c) {
                    return std::isdigit(c) || std::islower(c);
                }))
                return true;
        }
    }
    return false;
}

} // namespace flowwall::identity::docker
