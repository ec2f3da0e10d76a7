// SPDX-License-Identifier: Apache-2.0
// A container on a swarm-scope network (a Swarm task, or a container on an attachable overlay)
// gets a second interface that its inspect does not list: an endpoint on the local bridge
// docker_gwbridge, through which it reaches the node and the world (the overlay itself only
// joins containers). Without that address among the workload's own, the guard on the
// interface's host-side peer would take its every packet, ARP included, for a forgery
// (docs/swarm.md). The addresses are in `GET /networks/docker_gwbridge`.
//
// Pure functions, no I/O, like container_inspect.h; nothing throws.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "src/common/ip_address.h"
#include "src/common/result.h"

namespace flowwall::identity::docker {

inline constexpr const char* kGatewayBridgePath = "/networks/docker_gwbridge";

// Container id -> its addresses on docker_gwbridge, from the network's inspect: "Containers"
// maps ids to endpoints with "IPv4Address" ("198.18.202.4/24") and "IPv6Address" (may be
// ""). Keys that are not container ids (Docker lists its "ingress-sbox" there) are skipped;
// a malformed member is an Error naming it.
using GatewayBridgeAddresses = std::map<std::string, std::vector<IpAddress>>;
Result<GatewayBridgeAddresses> parse_gateway_bridge(const nlohmann::json& network);

// True when one of the container's networks (inspect's NetworkSettings.Networks) is of swarm
// scope: its NetworkID is a swarm object id (25 characters of [0-9a-z]), not the 64 hex digits
// of a local network. Only those containers have a docker_gwbridge endpoint.
bool on_swarm_scope_network(const nlohmann::json& inspect);

} // namespace flowwall::identity::docker
