// SPDX-License-Identifier: Apache-2.0
// Where the cluster's shared state lives in etcd: one versioned prefix, and below it one
// folder per kind, each node writing only under its own name (docs/architecture.md, "The
// cluster's keys"). Keys are built and parsed only here, so a layout change is one file and
// a key that does not parse is refused like any other hostile store content.
//
//   flowwall/v1/nodes/<node>                      node record            (node's lease)
//   flowwall/v1/endpoints/<node>/<address>        a local workload address (node's lease)
//   flowwall/v1/flows/<node>/<src>,<dst>,<port>,<protocol>   a flow as the node knows it, or
//                                                  its removal (no lease: the model outlives
//                                                  the node)
//   flowwall/v1/identities/<node>/<identity>      when the node first saw the identity (no lease)
//
// Identity names may contain '/', never ','; node names neither: so a flow key splits
// unambiguously at the node's '/' and then at the three commas.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/policy/flow_text.h"

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

std::string flows_prefix();                           // flowwall/v1/flows/
std::string node_flows_prefix(std::string_view node); // flowwall/v1/flows/<node>/
std::string flow_key(std::string_view node, const policy::FlowKey& flow);
std::string identities_prefix(); // flowwall/v1/identities/
std::string identity_key(std::string_view node, std::string_view identity);

// The end of a prefix range for etcd's range_end: the prefix with its last byte incremented.
std::string prefix_range_end(std::string_view prefix);

enum class KeyKind { node, endpoint, flow, identity };

struct ParsedKey {
    KeyKind kind = KeyKind::node;
    std::string node;
    IpAddress address;    // endpoint keys only
    policy::FlowKey flow; // flow keys only
    std::string identity; // identity keys only
};

// Refuses a key outside the layout: another version, an unknown folder, a bad node name, an
// address or a flow that is not in canonical form (two spellings of one address or flow must
// never be two claims), an identity name that is not valid.
Result<ParsedKey> parse_key(std::string_view key);

} // namespace flowwall::cluster
