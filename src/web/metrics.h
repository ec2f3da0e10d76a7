// SPDX-License-Identifier: Apache-2.0
// flowwalld's Prometheus metrics (docs/metrics.md), as text exposition format 0.0.4. Pure:
// the daemon gathers a MetricsInput when scraped (the per-CPU counters are read then, and
// named by the daemon: the web side knows nothing of the datapath), and this turns it into
// text, so names, labels and escaping are unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flowwall::web {

struct MapFill {
    std::string name; // fw_ipcache_v1 ...
    uint64_t entries = 0;
    uint64_t capacity = 0;
};

struct SourceMetrics {
    std::string name;
    bool synced = false;
    bool available = true;
    uint64_t errors = 0;
};

struct IdentityMetrics {
    std::string name;
    std::string mode; // learn|alert|block|off
    std::optional<double> learning_remaining_seconds;
    uint64_t flows = 0;
};

// Packets the datapath judged with one verdict reason (its per-CPU counters summed).
struct ReasonCount {
    std::string name; // "blocked", "policy_allow", ...
    bool drop = false;
    uint64_t packets = 0;
};

// What the datapath counted besides verdicts.
struct DatapathCounts {
    uint64_t connections_blocked = 0; // new connections dropped: not in the model, an end blocks
    uint64_t connections_alerted = 0;
    uint64_t connections_learned = 0;
    uint64_t events_sent = 0;
    uint64_t events_lost = 0;
    uint64_t events_suppressed = 0;
    uint64_t policy_full = 0;    // learned flows not stored: policy map full
    uint64_t conntrack_full = 0; // flows not tracked: conntrack insert failed
};

struct MetricsInput {
    std::vector<ReasonCount> reasons; // every reason the datapath has, in its order
    DatapathCounts datapath;
    std::vector<MapFill> maps;
    std::vector<SourceMetrics> sources;
    std::vector<IdentityMetrics> identities;
    uint64_t workloads = 0;
    uint64_t model_flows = 0;
    uint64_t interfaces_guarded = 0;
    uint64_t interfaces_failed = 0;
    uint64_t events_received = 0;
    std::map<std::string, uint64_t> audit_records; // by action: alert, block
    double uptime_seconds = 0;
    bool fail_closed = false; // --fail-mode, as the datapath has it
};

std::string render_metrics(const MetricsInput& input);

// Label values escaped as the exposition format wants (\\, \", \n).
std::string escape_label_value(const std::string& value);

} // namespace flowwall::web
