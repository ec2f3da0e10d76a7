// SPDX-License-Identifier: Apache-2.0
// Records for the audit tests: distinct, so a lost or reordered one shows.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "src/audit/audit_record.h"

namespace flowwall::audit {

// gtest prints a mismatched record as its JSON rather than as bytes.
inline void PrintTo(const AuditRecord& record, std::ostream* out) {
    *out << to_json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace flowwall::audit

namespace flowwall::audit::testing {

// Polls `done` until it holds or `limit` passes; the result of the last poll.
inline bool wait_until(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

// 2026-11-22T18:00:00.123Z
inline std::chrono::system_clock::time_point example_time() {
    using namespace std::chrono;
    return system_clock::time_point(sys_days(year(2026) / 11 / 22) + hours(18) + milliseconds(123));
}

// Record number `n`: its sequence number is in src_workload, which a test reads back.
inline AuditRecord numbered_record(uint64_t n) {
    AuditRecord record;
    record.time = example_time() + std::chrono::milliseconds(n);
    record.node = "node-1";
    record.action = n % 2 == 0 ? "block" : "alert";
    record.src = "registry.local/team/web";
    record.dst = "db";
    record.src_ip = "198.18.0." + std::to_string(n % 250 + 1);
    record.dst_ip = "fd00::2";
    record.port = 3306;
    record.protocol = "tcp";
    record.src_workload = "web-" + std::to_string(n);
    record.dst_workload = "db-1";
    record.suppressed = n;
    record.direction = "from_workload";
    return record;
}

} // namespace flowwall::audit::testing
