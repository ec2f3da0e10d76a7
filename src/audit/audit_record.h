// SPDX-License-Identifier: Apache-2.0
// One audit record: a connection attempt that an identity in alert or block mode did not have
// in its model. Its JSON form is a public contract (`flowwall events --json`, the audit log
// that people feed to their SIEM), so the keys and the time format never change meaning.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "src/common/result.h"

namespace flowwall::audit {

struct AuditRecord {
    std::chrono::system_clock::time_point time;
    std::string node;
    std::string action;   // "alert" | "block"
    std::string src, dst; // identity names
    std::string src_ip, dst_ip;
    uint16_t port = 0;
    std::string protocol;                   // "tcp", "udp", "icmp", ...
    std::string src_workload, dst_workload; // container / endpoint names, "" if none
    // Repeats of this flow the datapath suppressed (de-duplication) since the previous record.
    uint64_t suppressed = 0;
    std::string direction; // "from_workload" | "to_workload": which hook saw it
    // The datapath's reason ("blocked", "spoofed", "icmp_unmatched", "fail_closed", "alert");
    // "" in records written before it was recorded.
    std::string reason;

    bool operator==(const AuditRecord&) const = default;
};

// Every key, always (an empty string rather than a missing key, so consumers need no
// special cases): time, node, action, src, dst, src_ip, dst_ip, port, protocol, src_workload,
// dst_workload, suppressed, direction.
nlohmann::json to_json(const AuditRecord& record);

// The record as one line of the log and of the event stream: compact JSON and "\n". Never
// throws: bytes that are not UTF-8 (a container name is whatever the runtime reports) are
// replaced rather than failing the record.
std::string to_json_line(const AuditRecord& record);

// Parses what to_json() wrote. Requires the keys of the `flowwall events` contract (time,
// action, src, dst, src_ip, dst_ip, port, protocol); the others default when absent. Never
// throws; the error names the offending key.
Result<AuditRecord> from_json(const nlohmann::json& json);

// RFC 3339, UTC, milliseconds: "2026-11-22T18:00:00.123Z".
std::string format_time(std::chrono::system_clock::time_point time);
// Parses RFC 3339 ("...Z" or "...+02:00", any number of fraction digits, kept to the
// millisecond).
Result<std::chrono::system_clock::time_point> parse_time(std::string_view text);

} // namespace flowwall::audit
