// SPDX-License-Identifier: Apache-2.0
// flowwalld's Prometheus metrics (docs/metrics.md), as text exposition format 0.0.4. Pure:
// the daemon gathers a MetricsInput when scraped (the per-CPU counters are read then), and
// this turns it into text, so names, labels and escaping are unit-tested.
#pragma once

#include "flowwall/abi.h"

#include <array>
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

struct MetricsInput {
    std::array<fw_counter_value, FW_CTR_MAX> counters{}; // summed over CPUs
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
