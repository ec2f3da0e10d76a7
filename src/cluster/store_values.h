// SPDX-License-Identifier: Apache-2.0
// The values under the cluster's keys, as JSON with a version, and the rules a value read
// from the store must pass before anything of it reaches a map. The store is shared with
// every other node (and whoever else can write to etcd), so a value is refused, never
// repaired, when it is oversized, not JSON, of an unknown version, names an identity that is
// not a valid (or is a reserved) name, or claims an address no workload can have.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace flowwall::cluster {

// Values larger than this are refused unread: a node record or an endpoint is far smaller.
inline constexpr size_t kMaxValueBytes = 4096;
// The version of the values this build writes and reads ("v" in every value).
inline constexpr int kValueVersion = 1;

// flowwall/v1/nodes/<node>
struct NodeRecord {
    std::string name;       // from the key, never from the value
    std::string version;    // flowwalld's
    int64_t started_at = 0; // unix seconds
    std::string health;     // "ok" or "degraded"
    uint64_t workloads = 0;
    bool operator==(const NodeRecord&) const = default;
};

// flowwall/v1/endpoints/<node>/<address>
struct EndpointRecord {
    std::string identity; // the identity name: the cluster's contract (ids stay node-local)
    std::string workload; // the workload's name on its node, for people
    bool operator==(const EndpointRecord&) const = default;
};

// The checks every value passes first: size (at most max_bytes), JSON object, version "v".
Result<nlohmann::json> parse_versioned_value(std::string_view value,
                                             size_t max_bytes = kMaxValueBytes);

std::string encode_node(const NodeRecord& record);
std::string encode_endpoint(const EndpointRecord& record);

// `name` comes from the key the value was read under.
Result<NodeRecord> decode_node(std::string_view name, std::string_view value);
Result<EndpointRecord> decode_endpoint(std::string_view value);

// Addresses a workload on another node can hold: not unspecified, loopback, multicast,
// broadcast, link-local (not unique across nodes) or IPv4-mapped IPv6 (a second spelling).
Status validate_workload_address(const IpAddress& address);

} // namespace flowwall::cluster
