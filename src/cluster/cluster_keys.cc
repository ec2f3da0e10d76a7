// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/cluster_keys.h"

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
    return bad_key(key, "unknown folder \"" + std::string(folder.substr(0, 40)) + "\"");
}

} // namespace flowwall::cluster
