// SPDX-License-Identifier: Apache-2.0
#include "src/identity/static/endpoints_file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "src/common/identity_name.h"
#include "src/common/json_in_errors.h"
#include "src/identity/identity_naming.h"

namespace flowwall::identity {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxEndpointNameLength = 200;
constexpr size_t kMaxInterfaceNameLength = 15; // IFNAMSIZ - 1

const std::set<std::string, std::less<>> kEndpointKeys = {
    "name", "identity", "netns", "interfaces", "host-interfaces", "addresses"};

Error invalid(std::string message) {
    return Error{EINVAL, std::move(message)};
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; people need the rest.
std::string without_exception_tag(std::string message) {
    if (!message.empty() && message.front() == '[') {
        if (auto end = message.find("] "); end != std::string::npos)
            message.erase(0, end + 2);
    }
    return message;
}

Status validate_endpoint_name(const std::string& name) {
    if (name.empty())
        return invalid("\"name\" is empty");
    if (name.size() > kMaxEndpointNameLength)
        return invalid("\"name\" is longer than " + std::to_string(kMaxEndpointNameLength) +
                       " characters");
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
            return invalid("\"name\" \"" + name +
                           "\" may only hold letters, digits, '.', '_' and '-'");
    }
    return {};
}

// The rules of the kernel's dev_valid_name().
Status validate_interface_name(const std::string& key, const std::string& name) {
    bool bad_char = name.find_first_of("/: \t\n") != std::string::npos;
    if (name.empty() || name.size() > kMaxInterfaceNameLength || name == "." || name == ".." ||
        bad_char)
        return invalid("\"" + key + "\": \"" + name +
                       "\" is not an interface name (1-15 characters, no '/', ':' or spaces)");
    return {};
}

Result<std::string> string_value(const json& endpoint, const std::string& key) {
    const auto& value = endpoint.at(key);
    if (!value.is_string())
        return invalid("\"" + key + "\" is " + common::shown_in_error(value) +
                       ", expected a string");
    return value.get<std::string>();
}

Result<std::vector<std::string>> string_list(const json& endpoint, const std::string& key) {
    const auto& value = endpoint.at(key);
    auto expected = invalid("\"" + key + "\" is " + common::shown_in_error(value) +
                            ", expected a list of strings");
    if (!value.is_array())
        return expected;
    std::vector<std::string> items;
    std::set<std::string> seen;
    for (const auto& item : value) {
        if (!item.is_string())
            return expected;
        if (!seen.insert(item.get<std::string>()).second)
            return invalid("\"" + key + "\" lists \"" + item.get<std::string>() + "\" twice");
        items.push_back(item.get<std::string>());
    }
    return items;
}

Status validate_identity(const std::string& identity) {
    if (auto valid = common::validate_identity_name(identity); !valid)
        return invalid("\"identity\": " + valid.error().message);
    if (identity == common::kUnknownIdentity || identity == common::kHostIdentity ||
        identity == common::kWorldIdentity)
        return invalid("\"identity\": \"" + identity +
                       "\" is reserved (unknown, host and world are flowwall's own); pick "
                       "another name");
    if (identity.rfind("cidr:", 0) == 0)
        return invalid("\"identity\": \"" + identity +
                       "\" names a CIDR entity; workloads need a plain name");
    return {};
}

Result<Workload> parse_endpoint(const json& endpoint, int64_t started_ns) {
    if (!endpoint.is_object())
        return invalid("is " + common::shown_in_error(endpoint) + ", expected an object");
    for (const auto& [key, value] : endpoint.items()) {
        if (!kEndpointKeys.contains(key))
            return invalid("unknown key \"" + key +
                           "\" (known: name, identity, netns, interfaces, host-interfaces, "
                           "addresses)");
    }
    for (const char* required : {"name", "identity", "addresses"}) {
        if (!endpoint.contains(required))
            return invalid(std::string("\"") + required + "\" is missing");
    }

    Workload workload;
    workload.source = kEndpointsFileSource;
    workload.started_ns = started_ns;

    auto name = string_value(endpoint, "name");
    if (!name)
        return name.error();
    if (auto valid = validate_endpoint_name(name.value()); !valid)
        return valid.error();
    workload.name = name.value();
    workload.key = "file/" + workload.name;

    auto identity = string_value(endpoint, "identity");
    if (!identity)
        return identity.error();
    if (auto valid = validate_identity(identity.value()); !valid)
        return valid.error();
    workload.identity = identity.value();

    if (endpoint.contains("netns")) {
        auto netns = string_value(endpoint, "netns");
        if (!netns)
            return netns.error();
        if (netns.value().empty() || netns.value().front() != '/')
            return invalid("\"netns\": \"" + netns.value() +
                           "\" is not an absolute path (e.g. /run/netns/web)");
        workload.netns_path = netns.value();
    }
    for (auto [key, target] : {std::pair{"interfaces", &workload.interfaces},
                               std::pair{"host-interfaces", &workload.host_interfaces}}) {
        if (!endpoint.contains(key))
            continue;
        auto names = string_list(endpoint, key);
        if (!names)
            return names.error();
        for (const auto& interface_name : names.value()) {
            if (auto valid = validate_interface_name(key, interface_name); !valid)
                return valid.error();
        }
        *target = std::move(names).value();
    }
    if (!workload.interfaces.empty() && workload.netns_path.empty())
        return invalid("\"interfaces\" are inside \"netns\", which is missing; interfaces of "
                       "the host namespace go in \"host-interfaces\"");
    if (workload.netns_path.empty() && workload.host_interfaces.empty())
        return invalid("needs \"netns\" or \"host-interfaces\": flowwall must know where to "
                       "guard it");

    auto addresses = string_list(endpoint, "addresses");
    if (!addresses)
        return addresses.error();
    if (addresses.value().empty())
        return invalid("\"addresses\" is empty: a workload without an address cannot be "
                       "recognised in traffic");
    for (const auto& text : addresses.value()) {
        auto address = IpAddress::parse(text);
        if (!address)
            return invalid("\"addresses\": " + address.error().message);
        workload.addresses.push_back(address.value());
    }
    return workload;
}

} // namespace

Result<std::vector<Workload>> parse_endpoints_file(std::string_view text, const std::string& origin,
                                                   int64_t started_ns) {
    json document;
    try {
        document = json::parse(text);
    } catch (const json::exception& e) { // parse_error, and out_of_range for 1e999
        return invalid(origin + ": not valid JSON: " + without_exception_tag(e.what()));
    }
    if (!document.is_object())
        return invalid(origin + ": the top level must be an object {\"endpoints\": [...]}");
    for (const auto& [key, value] : document.items()) {
        if (key != "endpoints")
            return invalid(origin + ": unknown key \"" + key +
                           "\" (the only key is \"endpoints\")");
    }
    auto endpoints = document.find("endpoints");
    if (endpoints == document.end() || !endpoints->is_array())
        return invalid(origin + ": \"endpoints\" must be a list of endpoints");

    std::vector<Workload> workloads;
    std::map<std::string, std::string> owner_of_address;
    std::set<std::string> names;
    for (size_t index = 0; index < endpoints->size(); ++index) {
        const auto& endpoint = (*endpoints)[index];
        std::string where = origin + ": endpoints[" + std::to_string(index) + "]";
        if (endpoint.is_object() && endpoint.contains("name") && endpoint["name"].is_string())
            where += " \"" + endpoint["name"].get<std::string>() + "\"";
        auto workload = parse_endpoint(endpoint, started_ns);
        if (!workload)
            return invalid(where + ": " + workload.error().message);
        if (!names.insert(workload.value().name).second)
            return invalid(where + ": the name is used by an earlier endpoint too");
        for (const auto& address : workload.value().addresses) {
            auto [owner, fresh] =
                owner_of_address.emplace(address.to_string(), workload.value().name);
            if (!fresh)
                return invalid(where + ": address " + address.to_string() + " also belongs to \"" +
                               owner->second + "\"; an address can have one owner only");
        }
        workloads.push_back(std::move(workload).value());
    }
    return workloads;
}

} // namespace flowwall::identity
