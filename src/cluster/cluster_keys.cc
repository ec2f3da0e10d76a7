// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/cluster_keys.h"

#include "src/common/identity_name.h"

#include <optional>
#include <vector>

namespace flowwall::cluster {

namespace {

constexpr size_t kMaxNodeNameLength = 63;

bool is_node_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

Error bad_key(std::string_view key, const std::string& why) {
    return Error{EINVAL, "key \"" + std::string(key.substr(0, 120)) + "\": " + why};
}

} // namespace

Status validate_node_name(std::string_view name) {
    if (name.empty())
        return Error{EINVAL, "node name is empty"};
    if (name.size() > kMaxNodeNameLength)
        return Error{EINVAL, "node name is " + std::to_string(name.size()) +
                                 " characters long; at most " + std::to_string(kMaxNodeNameLength) +
                                 " are allowed"};
    if (!((name.front() >= 'a' && name.front() <= 'z') ||
          (name.front() >= '0' && name.front() <= '9')))
        return Error{EINVAL, "node name \"" + std::string(name) +
                                 "\" must start with a lower-case letter or a digit"};
    for (char c : name)
        if (!is_node_char(c))
            return Error{EINVAL, "node name \"" + std::string(name) +
                                     "\" may contain only a-z, 0-9, '.', '-' and '_'"};
    return {};
}

std::string nodes_prefix() {
    return std::string(kKeyPrefix) + "nodes/";
}

std::string node_key(std::string_view node) {
    return nodes_prefix() + std::string(node);
}

std::string endpoints_prefix() {
    return std::string(kKeyPrefix) + "endpoints/";
}

std::string node_endpoints_prefix(std::string_view node) {
    return endpoints_prefix() + std::string(node) + "/";
}

std::string endpoint_key(std::string_view node, const IpAddress& address) {
    return node_endpoints_prefix(node) + address.to_string();
}

std::string flows_prefix() {
    return std::string(kKeyPrefix) + "flows/";
}

std::string node_flows_prefix(std::string_view node) {
    return flows_prefix() + std::string(node) + "/";
}

std::string flow_key(std::string_view node, const policy::FlowKey& flow) {
    return node_flows_prefix(node) + flow.src + "," + flow.dst + "," + std::to_string(flow.port) +
           "," + std::to_string(flow.protocol);
}

std::string identities_prefix() {
    return std::string(kKeyPrefix) + "identities/";
}

std::string identity_key(std::string_view node, std::string_view identity) {
    return identities_prefix() + std::string(node) + "/" + std::string(identity);
}

std::string prefix_range_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty()) {
        auto last = static_cast<unsigned char>(end.back());
        if (last < 0xff) {
            end.back() = static_cast<char>(last + 1);
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0'); // etcd: every key from the start
}

Result<ParsedKey> parse_key(std::string_view key) {
    if (key.substr(0, kKeyPrefix.size()) != kKeyPrefix)
        return bad_key(key, "not under " + std::string(kKeyPrefix) +
                                " (another version of the layout, or not flowwall's)");
    std::string_view rest = key.substr(kKeyPrefix.size());
    ParsedKey parsed;
    auto slash = rest.find('/');
    if (slash == std::string_view::npos)
        return bad_key(key, "no folder");
    std::string_view folder = rest.substr(0, slash);
    rest = rest.substr(slash + 1);
    if (folder == "nodes") {
        parsed.kind = KeyKind::node;
        if (auto valid = validate_node_name(rest); !valid)
            return bad_key(key, valid.error().message);
        parsed.node = std::string(rest);
        return parsed;
    }
    if (folder == "endpoints") {
        parsed.kind = KeyKind::endpoint;
        slash = rest.find('/');
        if (slash == std::string_view::npos)
            return bad_key(key, "expected endpoints/<node>/<address>");
        std::string_view node = rest.substr(0, slash);
        std::string_view address = rest.substr(slash + 1);
        if (auto valid = validate_node_name(node); !valid)
            return bad_key(key, valid.error().message);
        auto parsed_address = IpAddress::parse(address);
        if (!parsed_address)
            return bad_key(key, parsed_address.error().message);
        if (parsed_address.value().to_string() != address)
            return bad_key(key, "address \"" + std::string(address) +
                                    "\" is not in canonical form (" +
                                    parsed_address.value().to_string() + ")");
        parsed.node = std::string(node);
        parsed.address = parsed_address.value();
        return parsed;
    }
    if (folder == "flows" || folder == "identities") {
        slash = rest.find('/');
        if (slash == std::string_view::npos)
            return bad_key(key, "expected " + std::string(folder) + "/<node>/...");
        std::string_view node = rest.substr(0, slash);
        std::string_view item = rest.substr(slash + 1);
        if (auto valid = validate_node_name(node); !valid)
            return bad_key(key, valid.error().message);
        parsed.node = std::string(node);
        if (folder == "identities") {
            parsed.kind = KeyKind::identity;
            if (auto valid = common::validate_identity_name(item); !valid)
                return bad_key(key, valid.error().message);
            parsed.identity = std::string(item);
            return parsed;
        }
        parsed.kind = KeyKind::flow;
        std::vector<std::string_view> parts;
        for (size_t start = 0;;) {
            auto comma = item.find(',', start);
            parts.push_back(item.substr(start, comma - start));
            if (comma == std::string_view::npos)
                break;
            start = comma + 1;
        }
        if (parts.size() != 4)
            return bad_key(key, "expected flows/<node>/<src>,<dst>,<port>,<protocol>");
        auto number = [](std::string_view text, unsigned max) -> std::optional<unsigned> {
            if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0'))
                return std::nullopt;
            unsigned value = 0;
            for (char c : text) {
                if (c < '0' || c > '9')
                    return std::nullopt;
                value = value * 10 + static_cast<unsigned>(c - '0');
            }
            return value <= max ? std::optional(value) : std::nullopt;
        };
        auto port = number(parts[2], 65535);
        auto protocol = number(parts[3], 255);
        if (!port || !protocol)
            return bad_key(key, "port must be 0-65535 and protocol 0-255, in decimal without "
                                "leading zeros");
        parsed.flow =
            policy::FlowKey{std::string(parts[0]), std::string(parts[1]),
                            static_cast<uint16_t>(*port), static_cast<uint8_t>(*protocol)};
        if (auto valid = policy::validate_flow_key(parsed.flow); !valid)
            return bad_key(key, valid.error().message);
        return parsed;
    }
    return bad_key(key, "unknown folder \"" + std::string(folder.substr(0, 40)) + "\"");
}

} // namespace flowwall::cluster
