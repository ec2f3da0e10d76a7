// SPDX-License-Identifier: Apache-2.0
#include "src/cli/render.h"
#include "src/cli/deny_render.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace flowwall::cli {

using nlohmann::json;

namespace {

// Columns as wide as their widest cell, two spaces apart; the last column is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> widths;
    for (const auto& row : rows)
        for (size_t column = 0; column < row.size(); ++column) {
            if (widths.size() <= column)
                widths.push_back(0);
            widths[column] = std::max(widths[column], row[column].size());
        }
    std::ostringstream out;
    for (const auto& row : rows) {
        for (size_t column = 0; column < row.size(); ++column) {
            out << row[column];
            if (column + 1 < row.size())
                out << std::string(widths[column] - row[column].size() + 2, ' ');
        }
        out << '\n';
    }
    return out.str();
}

std::string text(const json& value) {
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_null())
        return "-";
    return value.dump();
}

std::string joined(const json& values, const char* separator = ",") {
    std::string result;
    for (const auto& value : values) {
        if (!result.empty())
            result += separator;
        result += text(value);
    }
    return result.empty() ? "-" : result;
}

} // namespace

std::string render_uptime(long long seconds) {
    std::ostringstream out;
    if (seconds >= 86400)
        out << seconds / 86400 << 'd';
    if (seconds >= 3600)
        out << (seconds % 86400) / 3600 << 'h';
    if (seconds >= 60)
        out << (seconds % 3600) / 60 << 'm';
    out << seconds % 60 << 's';
    return out.str();
}

std::string render_status(const json& status) {
    std::ostringstream out;
    const json& datapath = status.at("datapath");
    out << "flowwalld " << text(status.at("version")) << " on " << text(status.at("node"))
        << ", up " << render_uptime(status.at("uptime_s").get<long long>()) << ", "
        << (status.at("synced").get<bool>() ? "in sync with its sources"
                                            : "not yet in sync with every source")
        << "\n\n";
    std::vector<std::vector<std::string>> sources{
        {"SOURCE", "STATE", "LAST SYNC", "ERRORS", "MESSAGE"}};
    for (const auto& source : status.at("sources"))
        sources.push_back({text(source.at("name")), text(source.at("state")),
                           text(source.at("last_sync")), text(source.at("errors")),
                           text(source.at("message"))});
    if (sources.size() == 1)
        out << "no workload sources configured (see --docker and --endpoints-file)\n";
    else
        out << table(sources);
    out << "\ndatapath: " << text(datapath.at("attach_mode")) << ", default mode "
        << text(datapath.at("default_mode"))
        << (datapath.contains("fail_mode") ? ", fail " + text(datapath.at("fail_mode")) : "")
        << ", pins in " << text(datapath.at("pin_dir")) << "\n  programs:";
    for (const auto& program : datapath.at("programs"))
        out << ' ' << text(program.at("name")) << " (id " << text(program.at("id")) << ')';
    out << "\n  interfaces guarded: " << text(datapath.at("interfaces_guarded"))
        << ", failed: " << text(datapath.at("interfaces_failed"));
    const json& ipcache = datapath.at("ipcache");
    out << "\n  ipcache: " << text(ipcache.at("entries")) << " of " << text(ipcache.at("capacity"))
        << " entries";
    if (!ipcache.at("error").is_null())
        out << " (error: " << text(ipcache.at("error")) << ')';
    if (status.contains("capacity") && status.at("capacity").contains("conntrack")) {
        const json& conntrack = status.at("capacity").at("conntrack");
        out << "\n  conntrack (UDP/ICMP): " << text(conntrack.at("ipv4").at("entries")) << " of "
            << text(conntrack.at("ipv4").at("capacity")) << " IPv4, "
            << text(conntrack.at("ipv6").at("entries")) << " of "
            << text(conntrack.at("ipv6").at("capacity")) << " IPv6";
    }
    out << "\n\nworkloads: " << text(status.at("workloads"))
        << ", identities: " << text(status.at("identities"));
    if (status.contains("model"))
        out << ", flows in the model: " << text(status.at("model").at("flows"));
    out << '\n';
    if (status.contains("cluster") && status.at("cluster").is_object() &&
        status.at("cluster").contains("model")) {
        const json& cluster = status.at("cluster");
        const json& model = cluster.at("model");
        out << "cluster: store "
            << (cluster.at("store_reachable").get<bool>() ? "reachable" : "UNREACHABLE") << ", "
            << text(cluster.at("nodes")) << " nodes, " << text(model.at("flows"))
            << " flows in the cluster's model, " << text(model.at("queued"))
            << " model changes queued (of " << text(model.at("queue_max")) << ")\n";
    }
    if (status.contains("capacity") && !status.at("capacity").at("problems").empty()) {
        out << "\nwarning: the datapath is out of room, or ran out since start:\n";
        for (const auto& problem : status.at("capacity").at("problems"))
            out << "  " << text(problem) << '\n';
    }
    if (status.contains("outside") && status.at("outside").is_object())
        out << render_outside(status.at("outside"));
    if (status.contains("learning") && !status.at("learning").empty()) {
        std::vector<std::vector<std::string>> rows{
            {"IDENTITY", "MODE", "LEARNING LEFT", "FLOWS", "LAST NEW FLOW"}};
        for (const auto& identity : status.at("learning")) {
            const json& left = identity.at("learning_remaining_s");
            const json& since = identity.at("since_last_new_flow_s");
            rows.push_back(
                {text(identity.at("name")), text(identity.at("mode")),
                 left.is_number() ? render_uptime(left.get<long long>()) : "-",
                 text(identity.at("flows")),
                 since.is_number() ? render_uptime(since.get<long long>()) + " ago" : "never"});
        }
        out << '\n' << table(rows);
    }
    return out.str();
}

std::string render_endpoints(const json& endpoints) {
    if (endpoints.empty())
        return "no workloads on this node\n";
    std::vector<std::vector<std::string>> rows{
        {"NAME", "IDENTITY", "ADDRESSES", "INTERFACES", "SOURCE"}};
    for (const auto& endpoint : endpoints) {
        if (endpoint.value("remote", false)) { // another node's workload (cluster mode)
            rows.push_back({text(endpoint.at("name")), text(endpoint.at("identity")),
                            joined(endpoint.at("addresses")), "-",
                            "node " + text(endpoint.at("node"))});
            continue;
        }
        std::string interfaces;
        for (const auto& guard : endpoint.at("interfaces")) {
            if (!interfaces.empty())
                interfaces += ',';
            interfaces += text(guard.at("name"));
            if (text(guard.at("device")) != text(guard.at("name")))
                interfaces += "@" + text(guard.at("device"));
            if (!guard.at("attached").get<bool>())
                interfaces += "(not attached)";
        }
        if (!endpoint.at("error").is_null())
            interfaces = "error: " + text(endpoint.at("error"));
        rows.push_back({text(endpoint.at("name")), text(endpoint.at("identity")),
                        joined(endpoint.at("addresses")), interfaces.empty() ? "-" : interfaces,
                        text(endpoint.at("source"))});
    }
    return table(rows);
}

std::string render_nodes(const json& nodes) {
    std::string out = std::string("cluster store: ") +
                      (nodes.at("store_reachable").get<bool>() ? "reachable" : "UNREACHABLE") +
                      "\n";
    std::vector<std::vector<std::string>> rows{
        {"NODE", "HEALTH", "WORKLOADS", "ADDRESSES", "VERSION", "STARTED"}};
    for (const auto& node : nodes.at("nodes"))
        rows.push_back({text(node.at("name")) + (node.at("self").get<bool>() ? " (this)" : ""),
                        text(node.at("health")), text(node.at("workloads")),
                        text(node.at("endpoints")), text(node.at("version")),
                        text(node.at("started_at"))});
    return out + table(rows);
}

namespace {

// Seconds as "59m12s", or "-" when not learning.
std::string remaining(const json& seconds) {
    if (!seconds.is_number())
        return "-";
    return render_uptime(seconds.get<long long>());
}

} // namespace

std::string render_identities(const json& identities) {
    std::vector<std::vector<std::string>> rows{
        {"ID", "NAME", "MODE", "LEARNING LEFT", "FLOWS", "WORKLOADS"}};
    for (const auto& identity : identities) {
        bool reserved = identity.at("reserved").get<bool>();
        rows.push_back({text(identity.at("id")), text(identity.at("name")),
                        reserved ? "-" : text(identity.value("mode", json("-"))),
                        remaining(identity.value("learning_remaining_s", json(nullptr))),
                        text(identity.value("flows", json(0))),
                        reserved ? "(reserved)" : text(identity.at("workloads"))});
    }
    return table(rows);
}

std::string render_model(const json& model) {
    const json& flows = model.at("flows");
    if (flows.empty())
        return "the model is empty: nothing learned or allowed yet\n";
    std::vector<std::vector<std::string>> rows{
        {"SRC", "DST", "PORT/PROTO", "COUNT", "FIRST SEEN", "LAST SEEN", "ORIGIN"}};
    for (const auto& flow : flows) {
        std::string port = flow.at("port").get<int>() == 0
                               ? text(flow.at("protocol"))
                               : text(flow.at("port")) + "/" + text(flow.at("protocol"));
        rows.push_back({text(flow.at("src")), text(flow.at("dst")), port, text(flow.at("count")),
                        text(flow.at("first_seen")), text(flow.at("last_seen")),
                        text(flow.value("origin", json("-")))});
    }
    return table(rows) + std::to_string(flows.size()) + " flows\n";
}

std::string render_audit_record(const json& record) {
    std::ostringstream out;
    auto end = [&](const char* identity, const char* ip, const char* workload) {
        out << text(record.at(identity)) << " (" << text(record.at(ip));
        std::string name = record.value(workload, std::string());
        if (!name.empty())
            out << ", " << name;
        out << ')';
    };
    out << text(record.at("time")) << ' ' << text(record.at("action")) << ' ';
    end("src", "src_ip", "src_workload");
    out << " -> ";
    end("dst", "dst_ip", "dst_workload");
    int port = record.at("port").get<int>();
    out << ' ' << (port == 0 ? "" : std::to_string(port) + "/") << text(record.at("protocol"));
    uint64_t suppressed = record.value("suppressed", uint64_t{0});
    if (suppressed > 0)
        out << " (+" << suppressed << " repeats)";
    return out.str();
}

std::string render_modes(const json& modes, const std::string& only) {
    std::ostringstream out;
    if (only.empty())
        out << "after learning, identities move to: " << text(modes.at("after_learning")) << "\n\n";
    std::vector<std::vector<std::string>> rows{{"IDENTITY", "MODE", "LEARNING LEFT"}};
    for (const auto& identity : modes.at("identities")) {
        if (!only.empty() && identity.at("name") != only)
            continue;
        rows.push_back({text(identity.at("name")), text(identity.at("mode")),
                        remaining(identity.value("learning_remaining_s", json(nullptr)))});
    }
    if (rows.size() == 1)
        return out.str() + (only.empty() ? "no identities yet\n" : "no identity " + only + "\n");
    return out.str() + table(rows);
}

namespace {

std::string dot_quoted(const std::string& text) {
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '\n') {
            quoted += "\\n"; // Graphviz's line break inside a label
            continue;
        }
        if (c == '"' || c == '\\')
            quoted += '\\';
        quoted += c;
    }
    return quoted + "\"";
}

} // namespace

std::string render_dot(const json& graph) {
    std::ostringstream out;
    out << "digraph flowwall {\n  rankdir=LR;\n"
        << "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", "
           "fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n";
    for (const auto& node : graph.at("nodes")) {
        std::string name = node.at("id").get<std::string>();
        std::string kind = node.at("kind").get<std::string>();
        std::string label = name;
        if (node.at("mode").is_string()) {
            label += "\n" + node.at("mode").get<std::string>();
            if (node.at("learning_remaining_s").is_number())
                label += " " + render_uptime(node.at("learning_remaining_s").get<long long>());
        }
        out << "  " << dot_quoted(name) << " [label=" << dot_quoted(label);
        if (kind == "world")
            out << ", shape=ellipse, fillcolor=\"#eeeeee\"";
        else if (kind == "host")
            out << ", shape=house, fillcolor=\"#fff3cd\"";
        out << "];\n";
    }
    for (const auto& edge : graph.at("edges")) {
        std::string state = edge.at("state").get<std::string>();
        const char* style = state == "blocked"   ? "color=\"#c62828\", style=dashed, penwidth=2"
                            : state == "alerted" ? "color=\"#ef6c00\", penwidth=2"
                                                 : "color=\"#2e7d32\"";
        out << "  " << dot_quoted(edge.at("source").get<std::string>()) << " -> "
            << dot_quoted(edge.at("target").get<std::string>())
            << " [label=" << dot_quoted(edge.at("label").get<std::string>() + " " + state) << ", "
            << style << "];\n";
    }
    out << "}\n";
    return out.str();
}

std::string render_mode_change(const json& answer) {
    std::ostringstream out;
    out << text(answer.at("message")) << '\n';
    for (const auto& change : answer.value("changed", json::array()))
        out << "  " << text(change.at("name")) << ": " << text(change.at("mode")) << '\n';
    return out.str();
}

} // namespace flowwall::cli
