// SPDX-License-Identifier: Apache-2.0
#include "src/web/metrics.h"

#include <sstream>
#include <tuple>

namespace flowwall::web {

namespace {

class Exposition {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    }
    void sample(const char* name, const std::vector<std::pair<const char*, std::string>>& labels,
                double value) {
        out_ << name;
        if (!labels.empty()) {
            out_ << '{';
            for (size_t i = 0; i < labels.size(); ++i)
                out_ << (i ? "," : "") << labels[i].first << "=\""
                     << escape_label_value(labels[i].second) << '"';
            out_ << '}';
        }
        out_ << ' ' << value << '\n';
    }
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
};

} // namespace

std::string escape_label_value(const std::string& value) {
    std::string escaped;
    for (char c : value) {
        if (c == '\\')
            escaped += "\\\\";
        else if (c == '"')
            escaped += "\\\"";
        else if (c == '\n')
            escaped += "\\n";
        else
            escaped += c;
    }
    return escaped;
}

std::string render_metrics(const MetricsInput& in) {
    Exposition out;
    out.family("flowwall_packets_total", "counter",
               "Packets judged by the datapath, by verdict and reason (per-CPU counters summed)");
    for (const auto& reason : in.reasons)
        out.sample("flowwall_packets_total",
                   {{"verdict", reason.drop ? "drop" : "pass"}, {"reason", reason.name}},
                   static_cast<double>(reason.packets));
    const DatapathCounts& counts = in.datapath;
    const std::tuple<const char*, const char*, uint64_t> totals[] = {
        {"flowwall_connections_blocked_total",
         "New connections dropped because they are not in the model and an end blocks",
         counts.connections_blocked},
        {"flowwall_connections_alerted_total",
         "New connections passed with an alert: not in the model, an end alerts",
         counts.connections_alerted},
        {"flowwall_connections_learned_total",
         "New connections learned into the model by the datapath", counts.connections_learned},
        {"flowwall_events_sent_total", "Events the datapath wrote to the ring buffer",
         counts.events_sent},
        {"flowwall_events_lost_total", "Events lost because the ring buffer was full",
         counts.events_lost},
        {"flowwall_events_suppressed_total",
         "Events folded into an earlier one by in-kernel de-duplication", counts.events_suppressed},
        {"flowwall_policy_map_full_total",
         "Learned flows not stored because the policy map was full", counts.policy_full},
        {"flowwall_conntrack_full_total",
         "Connections not tracked because the conntrack insert failed", counts.conntrack_full}};
    for (const auto& [name, help, value] : totals) {
        out.family(name, "counter", help);
        out.sample(name, {}, static_cast<double>(value));
    }

    out.family("flowwall_map_entries", "gauge", "Entries in each BPF map the daemon fills");
    for (const auto& map : in.maps)
        out.sample("flowwall_map_entries", {{"map", map.name}}, static_cast<double>(map.entries));
    out.family("flowwall_map_capacity", "gauge", "Capacity (max_entries) of each BPF map");
    for (const auto& map : in.maps)
        out.sample("flowwall_map_capacity", {{"map", map.name}}, static_cast<double>(map.capacity));
    out.family("flowwall_map_fill_ratio", "gauge", "Entries over capacity of each BPF map");
    for (const auto& map : in.maps)
        out.sample("flowwall_map_fill_ratio", {{"map", map.name}},
                   map.capacity ? static_cast<double>(map.entries) / map.capacity : 0.0);

    out.family("flowwall_source_synced", "gauge",
               "1 when the workload source's last full listing succeeded and it follows changes");
    for (const auto& source : in.sources)
        out.sample("flowwall_source_synced", {{"source", source.name}}, source.synced ? 1 : 0);
    out.family("flowwall_source_up", "gauge", "0 while the workload source cannot be reached");
    for (const auto& source : in.sources)
        out.sample("flowwall_source_up", {{"source", source.name}}, source.available ? 1 : 0);
    out.family("flowwall_source_errors_total", "counter", "Failures of each workload source");
    for (const auto& source : in.sources)
        out.sample("flowwall_source_errors_total", {{"source", source.name}},
                   static_cast<double>(source.errors));

    out.family("flowwall_identities", "gauge", "Identities seen on this node, by mode");
    std::map<std::string, uint64_t> by_mode{{"learn", 0}, {"alert", 0}, {"block", 0}, {"off", 0}};
    for (const auto& identity : in.identities)
        by_mode[identity.mode]++;
    for (const auto& [mode, count] : by_mode)
        out.sample("flowwall_identities", {{"mode", mode}}, static_cast<double>(count));
    out.family("flowwall_identity_learning_remaining_seconds", "gauge",
               "Learning time left for each identity that is learning");
    for (const auto& identity : in.identities)
        if (identity.learning_remaining_seconds)
            out.sample("flowwall_identity_learning_remaining_seconds",
                       {{"identity", identity.name}}, *identity.learning_remaining_seconds);
    out.family("flowwall_identity_flows", "gauge", "Flows of the model touching each identity");
    for (const auto& identity : in.identities)
        out.sample("flowwall_identity_flows", {{"identity", identity.name}},
                   static_cast<double>(identity.flows));

    out.family("flowwall_model_flows", "gauge", "Flows in the learned model");
    out.sample("flowwall_model_flows", {}, static_cast<double>(in.model_flows));
    out.family("flowwall_workloads", "gauge", "Workloads on this node");
    out.sample("flowwall_workloads", {}, static_cast<double>(in.workloads));
    out.family("flowwall_interfaces_guarded", "gauge",
               "Workload interfaces with both programs attached");
    out.sample("flowwall_interfaces_guarded", {}, static_cast<double>(in.interfaces_guarded));
    out.family("flowwall_interfaces_failed", "gauge",
               "Workload interfaces whose programs could not be attached (retried)");
    out.sample("flowwall_interfaces_failed", {}, static_cast<double>(in.interfaces_failed));
    out.family("flowwall_events_received_total", "counter",
               "Events the daemon read from the ring buffer");
    out.sample("flowwall_events_received_total", {}, static_cast<double>(in.events_received));
    out.family("flowwall_audit_records_total", "counter", "Audit records, by action");
    for (const char* action : {"alert", "block"}) {
        auto found = in.audit_records.find(action);
        out.sample("flowwall_audit_records_total", {{"action", action}},
                   found == in.audit_records.end() ? 0.0 : static_cast<double>(found->second));
    }
    out.family("flowwall_fail_mode", "gauge",
               "The datapath's fail mode (--fail-mode); the mode with value 1 is in force");
    out.sample("flowwall_fail_mode", {{"mode", "open"}}, in.fail_closed ? 0.0 : 1.0);
    out.sample("flowwall_fail_mode", {{"mode", "closed"}}, in.fail_closed ? 1.0 : 0.0);
    out.family("flowwall_uptime_seconds", "gauge", "Seconds since flowwalld started");
    out.sample("flowwall_uptime_seconds", {}, in.uptime_seconds);
    return out.text();
}

} // namespace flowwall::web
