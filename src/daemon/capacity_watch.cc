// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/capacity_watch.h"

#include "src/daemon/api_views.h"

#include <spdlog/spdlog.h>

namespace flowwall::daemon {

namespace {
// Enough to notice, not enough to flood the log while a storm lasts.
constexpr auto kLogInterval = std::chrono::minutes(1);
} // namespace

CapacityWatch::CapacityWatch(const datapath::CounterMap& stats, CapacityLimits limits)
    : stats_(stats),
      kinds_{{
          {FW_CTR_POLICY_FULL, "policy_full",
           "learned flows not stored: " FW_MAP_POLICY " is full (" +
               std::to_string(limits.policy_entries) + " entries)",
           "they pass while learning but are not in the model, so they will be blocked or "
           "alerted after learning; raise --policy-entries"},
          {FW_CTR_CT_FULL, "conntrack_full",
           "connections not tracked: the conntrack insert failed (" +
               std::to_string(limits.conntrack_entries) + " entries per family)",
           "their next packets are judged again as new; raise --conntrack-entries"},
          {FW_CTR_EVENTS_LOST, "events_lost",
           "events lost: the ring buffer (" + std::to_string(limits.event_buffer_bytes) +
               " bytes) was full",
           "learned flows are still adopted from the policy map, but alerts and blocks of "
           "those events have no audit record; raise --event-buffer-bytes"},
      }} {
    for (auto& kind : kinds_) {
        kind.total = datapath::read_counter(stats_, kind.counter).packets;
        kind.at_start = kind.total;
        kind.logged_total = kind.total;
    }
}

void CapacityWatch::check(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto& kind : kinds_) {
        uint64_t total = datapath::read_counter(stats_, kind.counter).packets;
        if (total == kind.total)
            continue;
        kind.total = total;
        kind.last_rise = now;
        if (kind.last_log && now - *kind.last_log < kLogInterval)
            continue;
        spdlog::warn("{} {}: {}", total - kind.logged_total, kind.what, kind.advice);
        kind.last_log = now;
        kind.logged_total = total;
    }
}

nlohmann::json CapacityWatch::view() const {
    std::lock_guard lock(mutex_);
    nlohmann::json view = nlohmann::json::object();
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& kind : kinds_) {
        uint64_t since_start = kind.total - kind.at_start;
        view[kind.key] = {{"total", kind.total},
                          {"since_start", since_start},
                          {"last", kind.last_rise ? iso_time(*kind.last_rise) : nullptr}};
        if (since_start > 0)
            problems.push_back(std::to_string(since_start) + " " + kind.what + ": " + kind.advice);
    }
    view["problems"] = problems;
    return view;
}

} // namespace flowwall::daemon
