// SPDX-License-Identifier: Apache-2.0
// The learned model: which flows between identities are valid (DESIGN.md, Learning). It
// holds names only, never addresses, so it can be exported from one node or cluster and
// imported on another.
//
// The JSON form is both the file the store keeps (model.json) and the export format, so a
// good export can be copied over a damaged model.json:
//
//   {"version": 1,
//    "flows": [{"src": "web", "dst": "db", "port": 3306, "protocol": "tcp",
//               "first_seen": "2026-11-22T18:00:00Z", "last_seen": "2026-11-22T18:05:00Z",
//               "count": 12, "nodes": ["n1"], "workloads": ["web-1"],
//               "origin": "learned"}]}
//
//   src, dst    identity names (validate_identity_name)
//   port        destination port 0-65535; 0 for protocols without ports (only tcp and udp
//               have them); tcp/udp port 0 is possible (a packet to port 0 is judged too)
//   protocol    "tcp", "udp", "icmp", "icmpv6" or another protocol's number as a string
//   first_seen, last_seen  RFC 3339 UTC ("Z"), 1970-2261; fractional seconds accepted, dropped
//   count       connections seen (after the datapath's de-duplication); 0 for a flow that
//               was allowed by hand and never seen
//   nodes       nodes that saw the flow (optional, default [])
//   workloads   up to 16 workloads (container names) that opened it (optional, default [])
//   origin      "learned", "manual" or "imported" (optional, default "imported")
//
// Readers are strict (unknown keys, wrong types, bad values and duplicate flows are errors
// naming the file, the flow index and the field): a model decides what gets blocked, so a
// half-understood file must not be taken for a good one.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/policy/flow_text.h"

namespace flowwall::policy {

inline constexpr std::string_view kOriginLearned = "learned";
inline constexpr std::string_view kOriginManual = "manual";
inline constexpr std::string_view kOriginImported = "imported";
bool is_origin(std::string_view origin);

inline constexpr int kModelFormatVersion = 1;
// Workloads are examples for a person reviewing the model, not evidence the model needs;
// an unbounded set would grow with every container restart.
inline constexpr size_t kMaxWorkloadsPerFlow = 16;

struct FlowRecord {
    FlowKey key;
    TimePoint first_seen{};
    TimePoint last_seen{};
    uint64_t count = 0;
    std::set<std::string> nodes;
    // The kMaxWorkloadsPerFlow first in name order: which ones are kept then depends only
    // on which were seen, not on the order events or imports arrived in, so merging is
    // commutative and importing twice changes nothing.
    std::set<std::string> workloads;
    std::string origin = std::string(kOriginLearned);

    bool operator==(const FlowRecord&) const = default;
};

// Invariant: every record passes the readers' checks (names, port, times to the second,
// labels, origin), so whatever a Model holds can be saved and read back. Not thread-safe.
class Model {
public:
    // The datapath saw `count` connections of `flow`. Adds the flow (origin "learned") or
    // widens its first/last seen, adds to its count, notes the node and workload (empty
    // ones are ignored; others are cut to printable ASCII). True when the flow is new.
    // A flow whose names do not pass validate_identity_name is not recorded (false, and
    // a warning): it could never be read back.
    bool record(const FlowKey& flow, TimePoint when, const std::string& node,
                const std::string& workload, uint64_t count = 1);
    // An operator or an import allows the flow: added with count 0, first and last seen
    // `now`. An existing flow is left as it is. True when the flow is new; false also for
    // invalid names or an origin that is not one of the three.
    bool allow(const FlowKey& flow, TimePoint now, std::string origin = std::string(kOriginManual));
    bool remove(const FlowKey& flow);

    bool contains(const FlowKey& flow) const { return find(flow) != nullptr; }
    const FlowRecord* find(const FlowKey& flow) const;
    // Sorted by key (src, dst, port, protocol).
    std::vector<FlowRecord> flows() const;
    const std::map<FlowKey, FlowRecord>& records() const { return flows_; }
    size_t size() const { return flows_.size(); }
    bool empty() const { return flows_.empty(); }
    // Flows where the identity is the source or the destination (a flow to itself counts
    // once). O(log n): the daemon asks for every identity on every `identities` call.
    size_t flows_of(const std::string& identity) const;
    std::vector<FlowRecord> flows_touching(const std::string& identity) const;

    // Imports `other`. New flows are copied, with origin_for_new as their origin (empty:
    // keep theirs). A flow both have keeps our origin, the earlier first_seen, the later
    // last_seen, the larger count, and the union of nodes and workloads. The larger count,
    // not the sum: an export is a snapshot, not a delta, so importing the same file twice
    // (or a file that contains our own flows) must not count anything twice; merge(x)
    // twice equals merge(x) once. Returns the number of new flows.
    size_t merge(const Model& other, std::string_view origin_for_new = kOriginImported);
    // The same for one record (the cluster's merged view of a flow): true when it was new.
    // The record must pass the readers' checks (a Model's or the store's reader gave it).
    bool merge_record(const FlowRecord& theirs, std::string_view origin_for_new = "");

    // Goes up on every change: a cheap "is there anything to save?" for the caller.
    uint64_t changes() const { return changes_; }

    nlohmann::json to_json() const;
    // The same document as to_json().dump(), written directly (over ten times faster for
    // large models): what the store saves, one flow per line.
    std::string to_json_text() const;
    // origin_for_errors names the source in errors ("/var/lib/flowwall/model.json"). Never
    // throws, whatever the input.
    static Result<Model> from_json(std::string_view text, const std::string& origin_for_errors);
    // The same checks on a parsed document (the control API receives one). Not an overload
    // of from_json: a string would convert to both.
    static Result<Model> from_document(const nlohmann::json& document,
                                       const std::string& origin_for_errors);

    // Same flows with the same records; changes() is not compared.
    bool operator==(const Model& other) const { return flows_ == other.flows_; }

private:
    FlowRecord& insert(FlowRecord record);

    std::map<FlowKey, FlowRecord> flows_;
    std::map<std::string, size_t, std::less<>> touching_; // identity -> flows_of()
    uint64_t changes_ = 0;
};

} // namespace flowwall::policy
