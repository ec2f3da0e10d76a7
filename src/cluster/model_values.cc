// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/model_values.h"

#include "src/cluster/store_values.h"

#include <nlohmann/json.hpp>

namespace flowwall::cluster {

using nlohmann::json;

namespace {

json flow_fields(const policy::FlowRecord& record) {
    json fields = {{"v", kValueVersion},
                   {"first_seen", policy::format_time(record.first_seen)},
                   {"last_seen", policy::format_time(record.last_seen)},
                   {"count", record.count},
                   {"workloads", record.workloads},
                   {"origin", record.origin}};
    return fields;
}

} // namespace

std::string encode_flow(const policy::FlowRecord& record) {
    policy::FlowRecord trimmed = record;
    std::string text = flow_fields(trimmed).dump();
    while (text.size() > kMaxFlowValueBytes && !trimmed.workloads.empty()) {
        trimmed.workloads.erase(std::prev(trimmed.workloads.end()));
        text = flow_fields(trimmed).dump();
    }
    return text;
}

std::string encode_flow_removal() {
    return json{{"v", kValueVersion}, {"removed", true}}.dump();
}

Result<FlowValue> decode_flow(const policy::FlowKey& key, std::string_view value) {
    auto parsed = parse_versioned_value(value, kMaxFlowValueBytes);
    if (!parsed)
        return parsed.error();
    json object = std::move(parsed.value());
    object.erase("v");
    if (auto removed = object.find("removed"); removed != object.end()) {
        if (!removed->is_boolean() || !removed->get<bool>() || object.size() != 1)
            return Error{EINVAL, "a removal is exactly {\"v\":1,\"removed\":true}"};
        return FlowValue{true, policy::FlowRecord{.key = key}};
    }
    // Names, port and nodes come from the key: a value that says them is not ours.
    for (const char* from_key : {"src", "dst", "port", "protocol", "nodes"})
        if (object.contains(from_key))
            return Error{EINVAL,
                         std::string("\"") + from_key + "\" belongs in the key, not in the value"};
    for (const char* required : {"first_seen", "last_seen", "count", "origin"})
        if (!object.contains(required))
            return Error{EINVAL, std::string("value has no \"") + required + "\""};
    object["src"] = key.src;
    object["dst"] = key.dst;
    object["port"] = key.port;
    object["protocol"] = policy::protocol_string(key.protocol);
    // The model file's reader: the same checks for times, counts, workloads and origin.
    auto model = policy::Model::from_document(
        json{{"version", policy::kModelFormatVersion}, {"flows", json::array({object})}},
        "the value");
    if (!model)
        return model.error();
    auto flows = model.value().flows();
    if (flows.size() != 1)
        return Error{EINVAL, "value does not describe one flow"};
    return FlowValue{false, std::move(flows.front())};
}

std::string encode_identity_seen(policy::TimePoint first_seen) {
    return json{{"v", kValueVersion}, {"first_seen", policy::format_time(first_seen)}}.dump();
}

Result<policy::TimePoint> decode_identity_seen(std::string_view value) {
    auto parsed = parse_versioned_value(value);
    if (!parsed)
        return parsed.error();
    const json& object = parsed.value();
    if (object.size() != 2 || !object.contains("first_seen") || !object["first_seen"].is_string())
        return Error{EINVAL,
                     "an identity value is exactly {\"v\":1,\"first_seen\":\"<RFC 3339>\"}"};
    auto time = policy::parse_time(object["first_seen"].get<std::string>());
    if (!time)
        return Error{EINVAL, "\"first_seen\": " + time.error().message};
    return time.value();
}

} // namespace flowwall::cluster
