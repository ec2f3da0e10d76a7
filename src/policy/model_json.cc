// SPDX-License-Identifier: Apache-2.0
// The model's JSON form (documented in model.h): writers and the strict reader.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <exception>
#include <initializer_list>

#include "src/common/json_in_errors.h"
#include "src/policy/model.h"

namespace flowwall::policy {
namespace {

using json = nlohmann::json;

constexpr std::string_view kFlowFields =
    "src, dst, port, protocol, first_seen, last_seen, count, nodes, workloads, origin";

// Every reader error goes through here, so none can span lines whatever the input held.
Error fail(const std::string& where, const std::string& what) {
    return Error{EINVAL, one_line(where + ": " + what, 1000)};
}

const char* type_of(const json& value) {
    return value.type_name();
}

json labels_json(const std::set<std::string>& labels) {
    json array = json::array();
    for (const auto& label : labels)
        array.push_back(label);
    return array;
}

// Names and labels are restricted by the model's invariant, but escaping costs nothing
// when there is nothing to escape and keeps the file JSON if the invariant ever slips.
bool needs_escaping(std::string_view text) {
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || byte < 0x20 || byte >= 0x7f)
            return true;
    }
    return false;
}

void append_string(std::string& out, std::string_view text) {
    out += '"';
    if (!needs_escaping(text)) {
        out.append(text);
        out += '"';
        return;
    }
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte >= 0x7f) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_number(std::string& out, uint64_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
    out.append(digits, end);
}

void append_labels(std::string& out, const std::set<std::string>& labels) {
    out += '[';
    bool first = true;
    for (const auto& label : labels) {
        if (!first)
            out += ", ";
        first = false;
        append_string(out, label);
    }
    out += ']';
}

Result<std::string> string_field(const json& entry, const char* name, const std::string& where) {
    auto found = entry.find(name);
    if (found == entry.end())
        return fail(where + "." + name, "missing");
    if (!found->is_string())
        return fail(where + "." + name, std::string("expected a string, found ") + type_of(*found));
    return found->get<std::string>();
}

Result<TimePoint> time_field(const json& entry, const char* name, const std::string& where) {
    auto text = string_field(entry, name, where);
    if (!text)
        return text.error();
    auto time = parse_time(text.value());
    if (!time)
        return fail(where + "." + name, time.error().message);
    return time.value();
}

Result<std::set<std::string>> labels_field(const json& entry, const char* name,
                                           const std::string& where, size_t bound) {
    std::set<std::string> labels;
    auto found = entry.find(name);
    if (found == entry.end())
        return labels;
    std::string field = where + "." + name;
    if (!found->is_array())
        return fail(field, std::string("expected an array of names, found ") + type_of(*found));
    if (found->size() > bound)
        return fail(field, std::to_string(found->size()) + " names, at most " +
                               std::to_string(bound) + " are kept");
    for (size_t index = 0; index < found->size(); ++index) {
        const auto& item = (*found)[index];
        std::string item_field = field + "[" + std::to_string(index) + "]";
        if (!item.is_string())
            return fail(item_field, std::string("expected a string, found ") + type_of(item));
        const auto& label = item.get_ref<const std::string&>();
        if (auto valid = validate_label(label); !valid)
            return fail(item_field, valid.error().message);
        if (!labels.insert(label).second)
            return fail(item_field, in_quotes(label) + " appears twice");
    }
    return labels;
}

Result<FlowRecord> parse_flow_entry(const json& entry, const std::string& where) {
    if (!entry.is_object())
        return fail(where, std::string("expected an object, found ") + type_of(entry));
    for (const auto& [key, value] : entry.items()) {
        bool known = false;
        for (std::string_view field : {"src", "dst", "port", "protocol", "first_seen", "last_seen",
                                       "count", "nodes", "workloads", "origin"})
            known |= key == field;
        if (!known)
            return fail(where, "unknown field " + in_quotes(key) + " (expected " +
                                   std::string(kFlowFields) + ")");
    }

    FlowRecord record;
    auto src = string_field(entry, "src", where);
    if (!src)
        return src.error();
    auto dst = string_field(entry, "dst", where);
    if (!dst)
        return dst.error();
    record.key.src = std::move(src).value();
    record.key.dst = std::move(dst).value();

    auto protocol_text = string_field(entry, "protocol", where);
    if (!protocol_text)
        return protocol_text.error();
    auto protocol = parse_protocol(protocol_text.value());
    if (!protocol)
        return fail(where + ".protocol", protocol.error().message);
    record.key.protocol = protocol.value();

    auto port = entry.find("port");
    if (port == entry.end())
        return fail(where + ".port", "missing");
    if (!port->is_number_unsigned() || port->get<uint64_t>() > 65535)
        return fail(where + ".port", "expected a port number 0-65535, found " +
                                         one_line(common::shown_in_error(*port), 40));
    record.key.port = static_cast<uint16_t>(port->get<uint64_t>());
    if (auto valid = validate_flow_key(record.key); !valid)
        return Error{EINVAL, one_line(where + "." + valid.error().message, 1000)}; // "src: ..."

    auto first_seen = time_field(entry, "first_seen", where);
    if (!first_seen)
        return first_seen.error();
    auto last_seen = time_field(entry, "last_seen", where);
    if (!last_seen)
        return last_seen.error();
    if (last_seen.value() < first_seen.value())
        return fail(where + ".last_seen", "earlier than first_seen");
    record.first_seen = first_seen.value();
    record.last_seen = last_seen.value();

    auto count = entry.find("count");
    if (count == entry.end())
        return fail(where + ".count", "missing");
    if (!count->is_number_unsigned())
        return fail(where + ".count", "expected a number 0 or more, found " +
                                          one_line(common::shown_in_error(*count), 40));
    record.count = count->get<uint64_t>();

    auto nodes = labels_field(entry, "nodes", where, SIZE_MAX);
    if (!nodes)
        return nodes.error();
    record.nodes = std::move(nodes).value();
    auto workloads = labels_field(entry, "workloads", where, kMaxWorkloadsPerFlow);
    if (!workloads)
        return workloads.error();
    record.workloads = std::move(workloads).value();

    if (entry.contains("origin")) {
        auto origin = string_field(entry, "origin", where);
        if (!origin)
            return origin.error();
        if (!is_origin(origin.value()))
            return fail(where + ".origin",
                        in_quotes(origin.value()) + " is not one of learned, manual, imported");
        record.origin = std::move(origin).value();
    } else {
        record.origin = std::string(kOriginImported);
    }
    return record;
}

} // namespace

json Model::to_json() const {
    json flows = json::array();
    for (const auto& [key, record] : flows_) {
        flows.push_back(json{{"src", key.src},
                             {"dst", key.dst},
                             {"port", key.port},
                             {"protocol", protocol_name(key.protocol)},
                             {"first_seen", format_time(record.first_seen)},
                             {"last_seen", format_time(record.last_seen)},
                             {"count", record.count},
                             {"nodes", labels_json(record.nodes)},
                             {"workloads", labels_json(record.workloads)},
                             {"origin", record.origin}});
    }
    return json{{"version", kModelFormatVersion}, {"flows", std::move(flows)}};
}

std::string Model::to_json_text() const {
    std::string out;
    out.reserve(64 + flows_.size() * 240);
    out += "{\n  \"version\": ";
    append_number(out, kModelFormatVersion);
    out += ",\n  \"flows\": [";
    bool first = true;
    char time[kTimeTextLength];
    for (const auto& [key, record] : flows_) {
        out += first ? "\n    {\"src\": " : ",\n    {\"src\": ";
        first = false;
        append_string(out, key.src);
        out += ", \"dst\": ";
        append_string(out, key.dst);
        out += ", \"port\": ";
        append_number(out, key.port);
        out += ", \"protocol\": ";
        append_string(out, protocol_name(key.protocol));
        out += ", \"first_seen\": \"";
        format_time_to(record.first_seen, time);
        out.append(time, sizeof(time));
        out += "\", \"last_seen\": \"";
        format_time_to(record.last_seen, time);
        out.append(time, sizeof(time));
        out += "\", \"count\": ";
        append_number(out, record.count);
        out += ", \"nodes\": ";
        append_labels(out, record.nodes);
        out += ", \"workloads\": ";
        append_labels(out, record.workloads);
        out += ", \"origin\": ";
        append_string(out, record.origin);
        out += '}';
    }
    out += first ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

Result<Model> Model::from_json(std::string_view text, const std::string& origin_for_errors) {
    try {
        return from_document(json::parse(text), origin_for_errors);
    } catch (const json::parse_error& e) {
        return fail(origin_for_errors, std::string("not valid JSON (") + e.what() + ")");
    } catch (const std::exception& e) {
        return fail(origin_for_errors, std::string("cannot read the model: ") + e.what());
    }
}

Result<Model> Model::from_document(const json& document, const std::string& origin_for_errors) {
    const std::string& where = origin_for_errors;
    try {
        if (!document.is_object())
            return fail(where, std::string("expected an object {\"version\": 1, \"flows\": "
                                           "[...]} at the top level, found ") +
                                   type_of(document));
        for (const auto& [key, value] : document.items()) {
            if (key != "version" && key != "flows")
                return fail(where, "unknown key " + in_quotes(key) +
                                       " at the top level (expected version, "
                                       "flows)");
        }
        auto version = document.find("version");
        if (version == document.end())
            return fail(where + ": version", "missing (expected 1)");
        if (!version->is_number_integer())
            return fail(where + ": version", "expected the number 1, found " +
                                                 one_line(common::shown_in_error(*version), 40));
        if (version->get<int64_t>() != kModelFormatVersion)
            return fail(where + ": version", std::to_string(version->get<int64_t>()) +
                                                 " is not supported: this flowwall reads version " +
                                                 std::to_string(kModelFormatVersion) +
                                                 " (was the file written by a newer release?)");
        auto flows = document.find("flows");
        if (flows == document.end())
            return fail(where + ": flows", "missing (expected an array, may be empty)");
        if (!flows->is_array())
            return fail(where + ": flows",
                        std::string("expected an array, found ") + type_of(*flows));

        Model model;
        for (size_t index = 0; index < flows->size(); ++index) {
            std::string entry_where = where + ": flows[" + std::to_string(index) + "]";
            auto record = parse_flow_entry((*flows)[index], entry_where);
            if (!record)
                return record.error();
            if (model.contains(record.value().key)) {
                // Rare, so the earlier index is looked up only now.
                size_t earlier = 0;
                while (earlier < index) {
                    auto other = parse_flow_entry((*flows)[earlier], entry_where);
                    if (other && other.value().key == record.value().key)
                        break;
                    ++earlier;
                }
                return fail(entry_where, "the flow " + flow_string(record.value().key) +
                                             " is already flows[" + std::to_string(earlier) + "]");
            }
            model.insert(std::move(record).value());
        }
        return model;
    } catch (const std::exception& e) {
        return fail(where, std::string("cannot read the model: ") + e.what());
    }
}

} // namespace flowwall::policy
