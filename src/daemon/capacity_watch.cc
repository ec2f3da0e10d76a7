// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/capacity_watch.h"

#include "src/common/json_time.h"
#include "src/daemon/api_views.h"

#include <spdlog/spdlog.h>

namespace flowwall::daemon {

namespace {
// Enough to notice, not enough to flood the log while a storm lasts.
constexpr auto kLogInterval = std::chrono::minutes(1);
// Counting walks the map (milliseconds at 262,144 entries, in batches): not every second.
constexpr auto kConntrackSampleInterval = std::chrono::seconds(10);

template <typename Map>
std::string fill_problem(const Map& map, uint64_t entries) {
    auto capacity = map.max_entries();
    if (capacity == 0 ||
        static_cast<double>(entries) < CapacityWatch::kConntrackFullRatio * capacity)
        return {};
    return map.name() + " is " + std::to_string(entries * 100 / capacity) + "% full (" +
           std::to_string(entries) + " of " + std::to_string(capacity) +
           " UDP/ICMP flows): the least recently used flows are being forgotten; a forgotten "
           "flow is judged again on its next packet, and a reply that comes first is judged "
           "as a new flow (dropped where an end blocks); raise --conntrack-entries";
}
} // namespace

CapacityWatch::CapacityWatch(const datapath::FirewallMaps& maps, CapacityLimits limits)
    : maps_(maps),
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
        kind.total = datapath::read_counter(maps_.stats, kind.counter).packets;
        kind.at_start = kind.total;
        kind.logged_total = kind.total;
    }
}

void CapacityWatch::check(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto& kind : kinds_) {
        uint64_t total = datapath::read_counter(maps_.stats, kind.counter).packets;
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
    if (!conntrack_.sampled || now - *conntrack_.sampled >= kConntrackSampleInterval)
        sample_conntrack(now);
}

void CapacityWatch::sample_conntrack(Clock::time_point now) {
    conntrack_.v4_entries = maps_.conntrack4.count();
    conntrack_.v6_entries = maps_.conntrack6.count();
    conntrack_.sampled = now;
    auto problems = conntrack_problems();
    if (problems.empty() || (conntrack_.last_log && now - *conntrack_.last_log < kLogInterval))
        return;
    for (const auto& problem : problems)
        spdlog::warn("{}", problem);
    conntrack_.last_log = now;
}

std::vector<std::string> CapacityWatch::conntrack_problems() const {
    std::vector<std::string> problems;
    for (auto problem : {fill_problem(maps_.conntrack4, conntrack_.v4_entries),
                         fill_problem(maps_.conntrack6, conntrack_.v6_entries)})
        if (!problem.empty())
            problems.push_back(std::move(problem));
    return problems;
}

std::pair<uint64_t, uint64_t> CapacityWatch::conntrack_entries() const {
    std::lock_guard lock(mutex_);
    return {conntrack_.v4_entries, conntrack_.v6_entries};
}

nlohmann::json CapacityWatch::view() const {
    std::lock_guard lock(mutex_);
    nlohmann::json view = nlohmann::json::object();
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& kind : kinds_) {
        uint64_t since_start = kind.total - kind.at_start;
        view[kind.key] = {{"total", kind.total},
                          {"since_start", since_start},
                          {"last", kind.last_rise ? common::iso_time(*kind.last_rise) : nullptr}};
        if (since_start > 0)
            problems.push_back(std::to_string(since_start) + " " + kind.what + ": " + kind.advice);
    }
    view["conntrack"] = {
        {"ipv4",
         {{"entries", conntrack_.v4_entries}, {"capacity", maps_.conntrack4.max_entries()}}},
        {"ipv6",
         {{"entries", conntrack_.v6_entries}, {"capacity", maps_.conntrack6.max_entries()}}},
        {"sampled", conntrack_.sampled ? common::iso_time(*conntrack_.sampled) : nullptr}};
    for (auto& problem : conntrack_problems())
        problems.push_back(std::move(problem));
    view["problems"] = problems;
    return view;
}

} // namespace flowwall::daemon
