// SPDX-License-Identifier: Apache-2.0
// The values under the model's keys (cluster_keys.h: flows/ and identities/), checked as
// strictly as a model file: a flow from the store can open a path through every node's
// firewall, so a value that does not read exactly as this build writes it is refused.
//
//   flowwall/v1/flows/<node>/<flow>        {"v":1,"first_seen":"2026-...Z","last_seen":"...Z",
//                                           "count":3,"workloads":["web-1"],"origin":"learned"}
//                                       or {"v":1,"removed":true}   (an operator removed it)
//   flowwall/v1/identities/<node>/<name>  {"v":1,"first_seen":"2026-...Z"}
//
// A flow value carries no names, port or nodes: those come from the key, so a node can
// neither speak for another node nor describe a flow other than the one its key names.
#pragma once

#include "src/common/result.h"
#include "src/policy/model.h"

#include <optional>
#include <string>
#include <string_view>

namespace flowwall::cluster {

// A flow value is larger than a node's: up to 16 workload names of up to 253 characters.
inline constexpr size_t kMaxFlowValueBytes = 8192;

struct FlowValue {
    bool removed = false;
    policy::FlowRecord record; // key from the store key; nodes left empty (the key's node)
};

// Workloads are dropped from the end until the value fits kMaxFlowValueBytes.
std::string encode_flow(const policy::FlowRecord& record);
std::string encode_flow_removal();
Result<FlowValue> decode_flow(const policy::FlowKey& key, std::string_view value);

std::string encode_identity_seen(policy::TimePoint first_seen);
Result<policy::TimePoint> decode_identity_seen(std::string_view value);

} // namespace flowwall::cluster
