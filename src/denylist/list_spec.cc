// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/list_spec.h"

#include "src/common/duration.h"

namespace flowwall::denylist {

using nlohmann::json;

Result<Direction> parse_direction(std::string_view text) {
    if (text == "inbound" || text == "in" || text.empty())
        return Direction::inbound;
    if (text == "outbound" || text == "out")
        return Direction::outbound;
    if (text == "both")
        return Direction::both;
    return Error{EINVAL, "unknown direction '" + std::string(text) +
                             "': want inbound (the default), outbound or both"};
}

const char* direction_name(Direction direction) {
    switch (direction) {
    case Direction::inbound:
        return "inbound";
    case Direction::outbound:
        return "outbound";
    case Direction::both:
        return "both";
    }
    return "inbound";
}

const char* role_name(ListRole role) {
    return role == ListRole::allow ? "allow" : "deny";
}

Status validate_list_name(std::string_view name) {
    if (name.empty() || name.size() > 63)
        return Error{EINVAL, "a list name has 1-63 characters, not " + std::to_string(name.size())};
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
            return Error{EINVAL, "bad list name '" + std::string(name) +
                                     "': use lower-case letters, digits, '-', '_' and '.', "
                                     "starting with a letter or digit (e.g. tor-exits)"};
    }
    return {};
}

Status validate_feed_url(std::string_view url) {
    if (url.starts_with("http://") || url.starts_with("https://") ||
        (url.starts_with("file:///")) || url.starts_with("/")) {
        if (url.find_first_of(" \t\r\n") != std::string_view::npos)
            return Error{EINVAL,
                         "a feed URL must not contain white space: '" + std::string(url) + "'"};
        return {};
    }
    return Error{EINVAL, "unsupported feed location '" + std::string(url) +
                             "': use an http:// or https:// URL, file:///PATH or an absolute "
                             "path"};
}

json to_json(const ListSpec& spec) {
    json document{{"name", spec.name},
                  {"role", role_name(spec.role)},
                  {"source", spec.is_feed() ? "feed" : "static"},
                  {"direction", direction_name(spec.direction)}};
    if (spec.is_feed()) {
        document["url"] = spec.url;
        document["format"] = feed_format_name(spec.format);
        document["refresh"] = common::format_duration(spec.limits.refresh_interval);
        document["timeout"] = common::format_duration(spec.limits.timeout);
        document["max_bytes"] = spec.limits.max_bytes;
        document["max_shrink"] = spec.limits.max_shrink;
        document["max_bad_lines"] = spec.limits.max_bad_lines;
    }
    return document;
}

namespace {

Result<std::string> text_field(const json& document, const char* key, std::string fallback) {
    auto it = document.find(key);
    if (it == document.end() || it->is_null())
        return fallback;
    if (!it->is_string())
        return Error{EINVAL, std::string("\"") + key + "\" must be a string"};
    return it->get<std::string>();
}

Status duration_field(const json& document, const char* key, std::chrono::milliseconds& value,
                      std::chrono::milliseconds minimum) {
    auto text = text_field(document, key, "");
    if (!text)
        return text.error();
    if (text.value().empty())
        return {};
    auto parsed = common::duration_from_text(text.value());
    if (!parsed)
        return Error{EINVAL, std::string("\"") + key + "\": \"" + text.value() + "\" " +
                                 parsed.error().message};
    if (parsed.value() < minimum)
        return Error{EINVAL, std::string("\"") + key + "\" must be at least " +
                                 common::format_duration(minimum)};
    value = parsed.value();
    return {};
}

} // namespace

Result<ListSpec> list_spec_from_json(const json& document) {
    if (!document.is_object())
        return Error{EINVAL, "a list must be a JSON object"};
    ListSpec spec;
    auto name = text_field(document, "name", "");
    if (!name)
        return name.error();
    spec.name = name.value();
    if (auto valid = validate_list_name(spec.name); !valid)
        return valid.error();

    auto role = text_field(document, "role", "deny");
    if (!role)
        return role.error();
    if (role.value() != "deny" && role.value() != "allow")
        return Error{EINVAL, "\"role\" must be deny or allow, not '" + role.value() + "'"};
    spec.role = role.value() == "allow" ? ListRole::allow : ListRole::deny;

    auto direction = text_field(document, "direction", "inbound");
    if (!direction)
        return direction.error();
    auto parsed_direction = parse_direction(direction.value());
    if (!parsed_direction)
        return parsed_direction.error();
    spec.direction = parsed_direction.value();

    auto url = text_field(document, "url", "");
    if (!url)
        return url.error();
    auto source = text_field(document, "source", url.value().empty() ? "static" : "feed");
    if (!source)
        return source.error();
    if (source.value() != "static" && source.value() != "feed")
        return Error{EINVAL, "\"source\" must be static or feed, not '" + source.value() + "'"};
    spec.source = source.value() == "feed" ? ListSource::feed : ListSource::static_prefixes;
    if (!spec.is_feed()) {
        if (!url.value().empty())
            return Error{EINVAL, "a static list has no \"url\"; make it a feed"};
        return spec;
    }
    spec.url = url.value();
    if (auto valid = validate_feed_url(spec.url); !valid)
        return valid.error();
    auto format = text_field(document, "format", "auto");
    if (!format)
        return format.error();
    auto parsed_format = parse_feed_format(format.value());
    if (!parsed_format)
        return parsed_format.error();
    spec.format = parsed_format.value();
    using namespace std::chrono_literals;
    if (auto valid = duration_field(document, "refresh", spec.limits.refresh_interval, 1s); !valid)
        return valid.error();
    if (auto valid = duration_field(document, "timeout", spec.limits.timeout, 100ms); !valid)
        return valid.error();
    if (auto it = document.find("max_bytes"); it != document.end()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 1024)
            return Error{EINVAL, "\"max_bytes\" must be a number of bytes, at least 1024"};
        spec.limits.max_bytes = it->get<uint64_t>();
    }
    if (auto it = document.find("max_shrink"); it != document.end()) {
        if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1)
            return Error{EINVAL, "\"max_shrink\" must be a share 0-1 (0.5: refuse a refresh "
                                 "that drops more than half the list)"};
        spec.limits.max_shrink = it->get<double>();
    }
    if (auto it = document.find("max_bad_lines"); it != document.end()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0)
            return Error{EINVAL, "\"max_bad_lines\" must be a number, 0 or more"};
        spec.limits.max_bad_lines = it->get<uint64_t>();
    }
    return spec;
}

} // namespace flowwall::denylist
