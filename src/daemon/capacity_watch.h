// SPDX-License-Identifier: Apache-2.0
// What the datapath could not store, made visible. The programs never fail a packet for a
// full map: a learned flow the policy map has no room for still passes (and is not learned),
// a connection conntrack cannot insert is judged again on its next packet, an event the ring
// buffer has no room for is dropped. Each is a kernel counter (and a metric); this turns a
// rise into a log line that says what to raise (at most one a minute per kind) and into the
// "capacity" section of `flowwall status`.
#pragma once

#include "src/datapath/counters.h"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace flowwall::daemon {

struct CapacityLimits {
    uint32_t policy_entries = 0;
    uint32_t conntrack_entries = 0;
    uint32_t event_buffer_bytes = 0;
};

class CapacityWatch {
public:
    using Clock = std::chrono::system_clock;

    // Counts from now: the kernel counters live as long as the pinned maps, across restarts.
    CapacityWatch(const datapath::CounterMap& stats, CapacityLimits limits);

    // Reads the counters (one lookup each); call about once a second.
    void check(Clock::time_point now = Clock::now());

    // {"policy_full": {...}, "conntrack_full": {...}, "events_lost": {...}, "problems": [...]}:
    // per kind the kernel's total, the count since this daemon started and when it last rose;
    // "problems" has one line per kind that rose since start, saying what to do.
    nlohmann::json view() const;

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

    const datapath::CounterMap& stats_;
    mutable std::mutex mutex_;
    std::array<Pressure, 3> kinds_;
};

} // namespace flowwall::daemon
