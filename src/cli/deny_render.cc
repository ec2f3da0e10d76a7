// SPDX-License-Identifier: Apache-2.0
#include "src/cli/deny_render.h"

#include <cstdio>
#include <sstream>

namespace flowwall::cli {

using nlohmann::json;

namespace {

std::string text_or(const json& document, const char* key, const std::string& fallback) {
    auto it = document.find(key);
    return it != document.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// 1234567 -> "1.2M"
std::string short_count(uint64_t value) {
    char text[32];
    if (value >= 10'000'000'000ull)
        std::snprintf(text, sizeof(text), "%.0fG", value / 1e9);
    else if (value >= 1'000'000)
        std::snprintf(text, sizeof(text), "%.1fM", value / 1e6);
    else if (value >= 10'000)
        std::snprintf(text, sizeof(text), "%.1fk", value / 1e3);
    else
        std::snprintf(text, sizeof(text), "%llu", static_cast<unsigned long long>(value));
    return text;
}

std::string state_of(const json& list) {
    if (!list.value("in_force", true))
        return "NOT IN FORCE: " + text_or(list, "kernel_error", "");
    std::string error = text_or(list, "last_error", "");
    if (!error.empty())
        return "last good version kept: " + error;
    return "ok";
}

} // namespace

std::string render_deny_lists(const json& lists) {
    if (lists.empty())
        return "no lists (flowwall deny create NAME --prefix P or --url URL)\n";
    std::ostringstream out;
    char line[512];
    std::snprintf(line, sizeof(line), "%-20s %-5s %-8s %-6s %9s %9s %9s  %s\n", "NAME", "ROLE",
                  "DIRECTION", "SOURCE", "PREFIXES", "PACKETS", "BYTES", "STATE");
    out << line;
    for (const auto& list : lists) {
        const json& dropped = list.at("dropped");
        std::snprintf(
            line, sizeof(line), "%-20s %-5s %-9s %-6s %9s %9s %9s  %s\n",
            list.at("name").get<std::string>().c_str(), list.at("role").get<std::string>().c_str(),
            list.at("direction").get<std::string>().c_str(),
            list.at("source").get<std::string>().c_str(),
            short_count(list.at("prefixes").get<uint64_t>()).c_str(),
            short_count(dropped.at("packets").get<uint64_t>()).c_str(),
            short_count(dropped.at("bytes").get<uint64_t>()).c_str(), state_of(list).c_str());
        out << line;
    }
    return out.str();
}

std::string render_deny_list(const json& list) {
    std::ostringstream out;
    out << "list:       " << list.at("name").get<std::string>() << " (id "
        << list.at("id").get<uint64_t>() << ")\n";
    out << "role:       " << list.at("role").get<std::string>()
        << (list.at("role") == "allow" ? " (wins over every deny list)" : "") << '\n';
    out << "direction:  " << list.at("direction").get<std::string>() << '\n';
    if (list.at("source") == "feed") {
        out << "feed:       " << list.at("url").get<std::string>() << " (format "
            << list.at("format").get<std::string>() << ", every "
            << list.at("refresh").get<std::string>() << ")\n";
        out << "checked:    "
            << (list.at("checked_at").is_null() ? std::string("never")
                                                : list.at("checked_at").get<std::string>())
            << ", " << list.at("refresh_failures").get<uint64_t>() << " refreshes not applied\n";
        const json& parse = list.at("last_parse");
        std::string bad = text_or(parse, "bad_lines_summary", "");
        if (!bad.empty())
            out << "bad lines:  " << bad << '\n';
    }
    out << "updated:    "
        << (list.at("updated_at").is_null() ? std::string("never")
                                            : list.at("updated_at").get<std::string>())
        << '\n';
    out << "state:      " << state_of(list) << '\n';
    out << "dropped:    " << list.at("dropped").at("packets").get<uint64_t>() << " packets, "
        << list.at("dropped").at("bytes").get<uint64_t>() << " bytes\n";
    if (!list.at("covers_protected").empty()) {
        out << "covers addresses that always win (they stay reachable):\n";
        for (const auto& overlap : list.at("covers_protected"))
            out << "  " << overlap.get<std::string>() << '\n';
    }
    out << "prefixes:   " << list.at("prefixes").get<uint64_t>() << '\n';
    for (const auto& entry : list.value("entries", json::array()))
        out << "  " << entry.get<std::string>() << '\n';
    if (list.value("entries_truncated", false))
        out << "  ... (--limit N shows more)\n";
    return out.str();
}

std::string render_deny_refresh(const json& answer) {
    std::string name = answer.at("name").get<std::string>();
    if (answer.value("unchanged", false))
        return "list " + name + ": the feed has not changed\n";
    if (!answer.at("applied").get<bool>())
        return "list " + name + ": refresh not applied, the last good version stays: " +
               text_or(answer, "reason", "") + "\n";
    return "list " + name + ": " + std::to_string(answer.at("prefixes").get<uint64_t>()) +
           " prefixes in force (+" + std::to_string(answer.at("added").get<uint64_t>()) + " -" +
           std::to_string(answer.at("removed").get<uint64_t>()) + ")\n";
}

std::string render_outside(const json& outside) {
    std::ostringstream out;
    const json& lists = outside.at("deny_lists");
    out << "\ndeny lists: ";
    if (lists.is_null())
        out << "off";
    else
        out << lists.at("lists").get<uint64_t>() << " lists, "
            << lists.at("prefixes").get<uint64_t>() << " prefixes";
    out << "; uplinks:";
    if (outside.at("uplinks").empty())
        out << " none";
    for (const auto& uplink : outside.at("uplinks"))
        out << ' ' << uplink.at("name").get<std::string>() << " ("
            << (uplink.at("xdp_mode").is_string() ? uplink.at("xdp_mode").get<std::string>()
                                                  : std::string("NO XDP"))
            << ")";
    out << "; entities: " << outside.at("entities").get<uint64_t>() << '\n';
    if (!lists.is_null())
        for (const auto& failing : lists.at("failing"))
            out << "  list " << failing.at("name").get<std::string>()
                << " keeps its last good version: " << failing.at("reason").get<std::string>()
                << '\n';
    for (const auto& uplink : outside.at("uplinks"))
        if (uplink.at("error").is_string())
            out << "  uplink " << uplink.at("name").get<std::string>() << ": "
                << uplink.at("error").get<std::string>() << '\n';
    return out.str();
}

std::string render_entities(const json& entities) {
    if (entities.empty())
        return "no entities (flowwall entity add NAME PREFIX)\n";
    std::ostringstream out;
    for (const auto& entity : entities) {
        out << entity.at("name").get<std::string>();
        auto id = entity.find("id");
        if (id != entity.end() && id->is_number_integer())
            out << " (id " << id->get<uint64_t>() << ")";
        out << ':';
        for (const auto& prefix : entity.at("prefixes"))
            out << ' ' << prefix.get<std::string>();
        out << '\n';
    }
    return out.str();
}

} // namespace flowwall::cli
