// SPDX-License-Identifier: Apache-2.0
// Where the cluster's shared state lives in etcd: one versioned prefix, and below it one
// folder per kind, each node writing only under its own name (docs/architecture.md, "The
// cluster's keys"). Keys are built and parsed only here, so a layout change is one file and
// a key that does not parse is refused like any other hostile store content.
//
//   flowwall/v1/nodes/<node>                      node record            (node's lease)
//   flowwall/v1/endpoints/<node>/<address>        a local workload address (node's lease)
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"

#include <string>
#include <string_view>

namespace flowwall::cluster {

inline constexpr std::string_view kKeyPrefix = "flowwall/v1/";

// Node names: 1..63 of [a-z0-9.-_], starting with a letter or digit (a host name, a
// Kubernetes node name); never '/', so a name cannot reach into another node's folder.
Status validate_node_name(std::string_view name);

std::string nodes_prefix();                               // flowwall/v1/nodes/
std::string node_key(std::string_view node);              // flowwall/v1/nodes/<node>
std::string endpoints_prefix();                           // flowwall/v1/endpoints/
std::string node_endpoints_prefix(std::string_view node); // flowwall/v1/endpoints/<node>/
std::string endpoint_key(std::string_view node, const IpAddress& address);

// The end of a prefix range for etcd's range_end: the prefix with its last byte incremented.
std::string prefix_range_end(std::string_view prefix);

enum class KeyKind { node, endpoint };

struct ParsedKey {
    KeyKind kind = KeyKind::node;
    std::string node;
    IpAddress address; // endpoint keys only
};

// Refuses a key outside the layout: another version, an unknown folder, a bad node name, an
// address that is not in canonical form (two spellings of one address must never be two
// claims).
Result<ParsedKey> parse_key(std::string_view key);

} // namespace flowwall::cluster
