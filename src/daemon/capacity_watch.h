// SPDX-License-Identifier: Apache-2.0
// What the datapath could not store, made visible. The programs never fail a packet for a
// full map: a learned flow the policy map has no room for still passes (and is not learned),
// a flow conntrack cannot insert is judged again on its next packet, an event the ring
// buffer has no room for is dropped. Each is a kernel counter (and a metric); this turns a
// rise into a log line that says what to raise (at most one a minute per kind) and into the
// "capacity" section of `flowwall status`.
//
// Conntrack is an LRU: it does not refuse when full, it forgets the least recently used flow,
// so no counter rises. Its fill is sampled instead (every 10 s: counting walks the map), and
// from 90% on it is reported the same way.
#pragma once

#include "src/datapath/counters.h"
#include "src/datapath/firewall_object.h"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flowwall::daemon {

struct CapacityLimits {
    uint32_t policy_entries = 0;
    uint32_t conntrack_entries = 0;
    uint32_t event_buffer_bytes = 0;
};

class CapacityWatch {
public:
    using Clock = std::chrono::system_clock;

    // At or above this share of its capacity, a conntrack map is reported as full.
    static constexpr double kConntrackFullRatio = 0.9;

    // Counts from now: the kernel counters live as long as the pinned maps, across restarts.
    // `maps` must outlive the watch.
    CapacityWatch(const datapath::FirewallMaps& maps, CapacityLimits limits);

    // Reads the counters (one lookup each), and the conntrack fill when the last sample is
    // 10 s old; call about once a second.
    void check(Clock::time_point now = Clock::now());

    // {"policy_full": {...}, "conntrack_full": {...}, "events_lost": {...},
    //  "conntrack": {"ipv4": {"entries", "capacity"}, "ipv6": {...}, "sampled"},
    //  "problems": [...]}:
    // per kind the kernel's total, the count since this daemon started and when it last rose;
    // "problems" has one line per kind that rose since start, and one per conntrack map at
    // kConntrackFullRatio or more in the last sample, saying what to do.
    nlohmann::json view() const;

    // The last sample: entries in fw_ct4_v1 and fw_ct6_v1 (0 before the first).
    std::pair<uint64_t, uint64_t> conntrack_entries() const;

private:
    struct Pressure {
        uint32_t counter;
        const char* key;
        std::string what; // "learned flows not stored: fw_policy_v1 is full (131072 entries)"
        std::string advice;
        uint64_t at_start = 0;
        uint64_t total = 0;
        std::optional<Clock::time_point> last_rise;
        std::optional<Clock::time_point> last_log;
        uint64_t logged_total = 0;
    };

    struct ConntrackFill {
        uint64_t v4_entries = 0;
        uint64_t v6_entries = 0;
        std::optional<Clock::time_point> sampled;
        std::optional<Clock::time_point> last_log;
    };

    void sample_conntrack(Clock::time_point now);
    std::vector<std::string> conntrack_problems() const;

    const datapath::FirewallMaps& maps_;
    mutable std::mutex mutex_;
    std::array<Pressure, 3> kinds_;
    ConntrackFill conntrack_;
};

} // namespace flowwall::daemon
