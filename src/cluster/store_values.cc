// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/store_values.h"

#include "src/common/identity_name.h"

#include <nlohmann/json.hpp>

#include <span>

namespace flowwall::cluster {

namespace {

using nlohmann::json;

constexpr size_t kMaxTextField = 256;

Result<json> parse_versioned(std::string_view value, size_t max_bytes = kMaxValueBytes) {
    if (value.size() > max_bytes)
        return Error{EINVAL, "value is " + std::to_string(value.size()) + " bytes; at most " +
                                 std::to_string(max_bytes) + " are read"};
    json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded())
        return Error{EINVAL, "value is not JSON"};
    if (!parsed.is_object())
        return Error{EINVAL, "value is not a JSON object"};
    auto version = parsed.find("v");
    if (version == parsed.end() || !version->is_number_integer())
        return Error{EINVAL, "value has no integer version \"v\""};
    if (version->get<int64_t>() != kValueVersion)
        return Error{EINVAL, "value has version " + version->dump() + "; this node reads " +
                                 std::to_string(kValueVersion) + " (upgrade it)"};
    return parsed;
}

Result<std::string> text_field(const json& object, const char* name, bool required) {
    auto field = object.find(name);
    if (field == object.end()) {
        if (required)
            return Error{EINVAL, std::string("value has no \"") + name + "\""};
        return std::string();
    }
    if (!field->is_string())
        return Error{EINVAL, std::string("\"") + name + "\" is " + field->type_name() +
                                 ", expected a string"};
    auto text = field->get<std::string>();
    if (text.size() > kMaxTextField)
        return Error{EINVAL, std::string("\"") + name + "\" is longer than " +
                                 std::to_string(kMaxTextField) + " bytes"};
    for (unsigned char c : text)
        if (c < 0x20 || c == 0x7f)
            return Error{EINVAL, std::string("\"") + name + "\" contains a control character"};
    return text;
}

bool in_prefix(const IpAddress& address, std::string_view prefix_text) {
    auto prefix = IpPrefix::parse(prefix_text).value();
    if (prefix.address.family != address.family)
        return false;
    unsigned bits = prefix.length;
    for (unsigned i = 0; i < 16 && bits > 0; ++i) {
        unsigned take = bits >= 8 ? 8 : bits;
        uint8_t mask = static_cast<uint8_t>(0xff << (8 - take));
        if ((address.bytes[i] & mask) != prefix.address.bytes[i])
            return false;
        bits -= take;
    }
    return true;
}

} // namespace

Result<json> parse_versioned_value(std::string_view value, size_t max_bytes) {
    return parse_versioned(value, max_bytes);
}

std::string encode_node(const NodeRecord& record) {
    return json{{"v", kValueVersion},
                {"version", record.version},
                {"started_at", record.started_at},
                {"health", record.health},
                {"workloads", record.workloads}}
        .dump();
}

std::string encode_endpoint(const EndpointRecord& record) {
    return json{{"v", kValueVersion}, {"identity", record.identity}, {"workload", record.workload}}
        .dump();
}

Result<NodeRecord> decode_node(std::string_view name, std::string_view value) {
    auto parsed = parse_versioned(value);
    if (!parsed)
        return parsed.error();
    const json& object = parsed.value();
    NodeRecord record;
    record.name = std::string(name);
    auto version = text_field(object, "version", true);
    auto health = text_field(object, "health", true);
    if (!version)
        return version.error();
    if (!health)
        return health.error();
    record.version = version.value();
    record.health = health.value();
    if (record.health != "ok" && record.health != "degraded")
        return Error{EINVAL, "\"health\" is \"" + record.health + "\", not ok or degraded"};
    auto started = object.find("started_at");
    if (started == object.end() || !started->is_number_integer() || started->get<int64_t>() < 0)
        return Error{EINVAL, "\"started_at\" is not a non-negative integer (unix seconds)"};
    record.started_at = started->get<int64_t>();
    auto workloads = object.find("workloads");
    if (workloads != object.end()) {
        if (!workloads->is_number_unsigned())
            return Error{EINVAL, "\"workloads\" is not a non-negative integer"};
        record.workloads = workloads->get<uint64_t>();
    }
    return record;
}

Result<EndpointRecord> decode_endpoint(std::string_view value) {
    auto parsed = parse_versioned(value);
    if (!parsed)
        return parsed.error();
    EndpointRecord record;
    auto identity = text_field(parsed.value(), "identity", true);
    if (!identity)
        return identity.error();
    if (auto valid = common::validate_identity_name(identity.value()); !valid)
        return valid.error();
    if (identity.value() == common::kUnknownIdentity || identity.value() == common::kHostIdentity ||
        identity.value() == common::kWorldIdentity)
        return Error{EINVAL,
                     "identity \"" + identity.value() + "\" is reserved; a workload never has it"};
    auto workload = text_field(parsed.value(), "workload", false);
    if (!workload)
        return workload.error();
    record.identity = identity.value();
    record.workload = workload.value();
    return record;
}

Status validate_workload_address(const IpAddress& address) {
    static constexpr std::string_view kRefusedV4[] = {"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
                                                      "224.0.0.0/4", "240.0.0.0/4"};
    static constexpr std::string_view kRefusedV6[] = {"::/127", "::ffff:0:0/96", "fe80::/10",
                                                      "ff00::/8"};
    std::span<const std::string_view> refused =
        address.is_ipv4() ? std::span<const std::string_view>(kRefusedV4) : kRefusedV6;
    for (auto prefix : refused)
        if (in_prefix(address, prefix))
            return Error{EINVAL, "address " + address.to_string() + " is in " +
                                     std::string(prefix) +
                                     ", which no workload on another node can hold"};
    return {};
}

} // namespace flowwall::cluster
