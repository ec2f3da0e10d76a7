// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/api_views.h"

#include "src/common/json_time.h"
#include "src/config/daemon_config.h"
#include "src/policy/modes.h"

#include <ctime>
#include <tuple>

namespace flowwall::daemon {

using nlohmann::json;

json learning_view(const std::map<std::string, enforcement::IdentityPolicyView>& policy) {
    json learning = json::array();
    for (const auto& [name, view] : policy)
        learning.push_back(
            {{"name", name},
             {"mode", view.mode},
             {"learning_remaining_s", common::whole_seconds(view.learning_remaining)},
             {"since_last_new_flow_s", common::whole_seconds(view.since_last_new_flow)},
             {"flows", view.flows}});
    return learning;
}

json status_view(const DaemonInfo& info, const NodeSnapshot& snapshot) {
    auto now = std::chrono::system_clock::now();
    json sources = json::array();
    for (const auto& source : snapshot.sources)
        sources.push_back({{"name", source.name},
                           {"state", identity::to_string(source.health.state)},
                           {"message", source.health.message},
                           {"last_sync", common::iso_time(source.health.last_sync)},
                           {"errors", source.health.errors}});
    json programs = json::array();
    for (const auto& program : info.programs)
        programs.push_back({{"name", program.name}, {"id", program.id}});
    return {
        {"api_version", kApiVersion},
        {"version", info.version},
        {"node", info.node},
        {"started_at", common::iso_time(info.started_at)},
        {"uptime_s",
         std::chrono::duration_cast<std::chrono::seconds>(now - info.started_at).count()},
        {"synced", snapshot.all_sources_synced},
        {"sources", sources},
        {"datapath",
         {{"pin_dir", info.pin_dir},
          {"attach_mode", info.attach_mode},
          {"default_mode", policy::mode_name(info.default_mode)},
          {"fail_mode", info.fail_mode},
          {"programs", programs},
          {"interfaces_guarded", snapshot.guards_attached},
          {"interfaces_failed", snapshot.guards_failed},
          {"ipcache",
           {{"entries", snapshot.ipcache_entries},
            {"capacity", snapshot.ipcache_capacity},
            {"error",
             snapshot.ipcache_error.empty() ? json(nullptr) : json(snapshot.ipcache_error)}}},
          {"interface_map",
           {{"entries", snapshot.interface_entries},
            {"error",
             snapshot.interface_error.empty() ? json(nullptr) : json(snapshot.interface_error)}}}}},
        {"web", info.web_address.empty() ? json(nullptr) : json("http://" + info.web_address)},
        {"workloads", snapshot.endpoints.size()},
        {"identities", snapshot.identities.size()},
    };
}

json endpoints_view(const NodeSnapshot& snapshot) {
    json endpoints = json::array();
    for (const auto& endpoint : snapshot.endpoints) {
        const auto& workload = endpoint.workload;
        json addresses = json::array();
        for (const auto& address : workload.addresses)
            addresses.push_back(address.to_string());
        json interfaces = json::array();
        for (const auto& guard : endpoint.guards)
            interfaces.push_back(
                {{"name", guard.point.workload_interface},
                 {"placement", to_string(guard.point.placement)},
                 {"device", guard.point.iface.name},
                 {"netns", guard.point.iface.netns_path},
                 {"attached", guard.attached},
                 {"mode", guard.mode},
                 {"error", guard.error.empty() ? json(nullptr) : json(guard.error)}});
        endpoints.push_back(
            {{"name", workload.name},
             {"key", workload.key},
             {"source", workload.source},
             {"identity", workload.identity},
             {"identity_id", endpoint.identity_id},
             {"image", workload.image},
             {"netns", workload.netns_path},
             {"addresses", addresses},
             {"interfaces", interfaces},
             {"error", endpoint.error.empty() ? json(nullptr) : json(endpoint.error)}});
    }
    // Other nodes' workloads (cluster mode), one entry per workload with its node.
    std::map<std::pair<std::string, std::string>, std::pair<std::string, json>> remote;
    for (const auto& [address, workload] : snapshot.remote) {
        auto& entry = remote[{workload.node, workload.name}];
        entry.first = workload.identity;
        if (entry.second.is_null())
            entry.second = json::array();
        entry.second.push_back(address.to_string());
    }
    for (const auto& [key, entry] : remote)
        endpoints.push_back({{"name", key.second},
                             {"source", "cluster"},
                             {"identity", entry.first},
                             {"node", key.first},
                             {"remote", true},
                             {"addresses", entry.second}});
    return endpoints;
}

json identities_view(const NodeSnapshot& snapshot,
                     const std::map<std::string, enforcement::IdentityPolicyView>& policy) {
    json identities = json::array();
    for (const auto& [name, id] : snapshot.identities) {
        auto count = snapshot.workloads_per_identity.find(name);
        json entry{
            {"name", name},
            {"id", id},
            {"reserved", id < FW_ID_FIRST_ALLOCATED},
            {"workloads", count == snapshot.workloads_per_identity.end() ? 0 : count->second},
            {"mode", nullptr},
            {"learning_remaining_s", nullptr},
            {"since_last_new_flow_s", nullptr},
            {"quiet_holding", false},
            {"flows", 0}};
        if (auto view = policy.find(name); view != policy.end()) {
            entry["mode"] = view->second.mode;
            entry["learning_remaining_s"] = common::whole_seconds(view->second.learning_remaining);
            entry["since_last_new_flow_s"] =
                common::whole_seconds(view->second.since_last_new_flow);
            entry["quiet_holding"] = view->second.quiet_holding;
            entry["flows"] = view->second.flows;
        }
        identities.push_back(entry);
    }
    return identities;
}

json graph_view(const NodeSnapshot& snapshot,
                const std::map<std::string, enforcement::IdentityPolicyView>& policy,
                const std::vector<policy::FlowRecord>& flows,
                const std::vector<audit::AuditRecord>& records) {
    std::map<std::string, json> nodes;
    auto node = [&](const std::string& name) -> json& {
        auto [it, inserted] = nodes.try_emplace(name);
        if (inserted) {
            std::string kind = name == "world" ? "world" : name == "host" ? "host" : "workload";
            auto count = snapshot.workloads_per_identity.find(name);
            it->second = {
                {"id", name},
                {"kind", kind},
                {"workloads", count == snapshot.workloads_per_identity.end() ? 0 : count->second},
                {"mode", nullptr},
                {"learning_remaining_s", nullptr}};
            if (auto view = policy.find(name); view != policy.end()) {
                it->second["mode"] = view->second.mode;
                it->second["learning_remaining_s"] =
                    common::whole_seconds(view->second.learning_remaining);
            }
        }
        return it->second;
    };
    for (const auto& [name, count] : snapshot.workloads_per_identity)
        node(name);
    // One edge per (src, dst, port/protocol, what happens); repeats add up.
    std::map<std::tuple<std::string, std::string, std::string, std::string>, json> edges;
    auto edge = [&](const std::string& src, const std::string& dst, const json& port,
                    const std::string& protocol, const std::string& state, uint64_t count) {
        node(src);
        node(dst);
        std::string label =
            port.get<int>() == 0 ? protocol : std::to_string(port.get<int>()) + "/" + protocol;
        auto [it, inserted] = edges.try_emplace({src, dst, label, state});
        if (inserted)
            it->second = {
                {"source", src}, {"target", dst}, {"label", label}, {"state", state}, {"count", 0}};
        it->second["count"] = it->second["count"].get<uint64_t>() + count;
    };
    for (const auto& flow : flows)
        edge(flow.key.src, flow.key.dst, flow.key.port, policy::protocol_name(flow.key.protocol),
             "learned", flow.count);
    for (const auto& record : records)
        edge(record.src, record.dst, record.port, record.protocol,
             record.action == "block" ? "blocked" : "alerted", 1 + record.suppressed);
    json result{{"nodes", json::array()}, {"edges", json::array()}};
    for (auto& [name, value] : nodes)
        result["nodes"].push_back(value);
    for (auto& [key, value] : edges)
        result["edges"].push_back(value);
    return result;
}

} // namespace flowwall::daemon
