// SPDX-License-Identifier: Apache-2.0
// What flowwall reads of the Docker Engine API's JSON, and how a container becomes a Workload.
// Pure functions, no I/O: the fixtures in tests/unit/docker are real dockerd 20.10 answers, so
// the rules below are tested against what the daemon actually sends.
//
// Nothing here throws: the daemon's JSON is input like any other, and a field that is missing
// or has the wrong type becomes an Error naming that field.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/identity/identity_naming.h"
#include "src/identity/workload.h"

namespace flowwall::identity::docker {

// The parts of `GET /containers/{id}/json` flowwall uses.
struct ContainerInfo {
    std::string id;    // full 64-hex id
    std::string name;  // without Docker's leading '/'
    std::string image; // Config.Image: the reference the user asked for ("mysql:5.7")
    std::map<std::string, std::string> labels; // Config.Labels
    bool running = false;                      // State.Running (true while paused, too)
    bool restarting = false;          // State.Restarting: a restart policy waits to start it again
    int64_t pid = 0;                  // State.Pid; 0 when not running
    int64_t started_ns = 0;           // State.StartedAt; 0 when never started
    std::string sandbox_key;          // NetworkSettings.SandboxKey: the netns bind mount
    std::string network_mode;         // HostConfig.NetworkMode: "default", "host", "container:<id>"
    std::vector<IpAddress> addresses; // every network's IPv4 and global IPv6, once
    // On a swarm-scope (overlay) network: it also has a docker_gwbridge address, which
    // inspect does not list (gateway_bridge.h).
    bool on_swarm_network = false;

    bool operator==(const ContainerInfo&) const = default;
};

Result<ContainerInfo> parse_container_inspect(const nlohmann::json& inspect);
// Same, from the response text; invalid JSON is an Error too.
Result<ContainerInfo> parse_container_inspect(std::string_view text);

// The ids of `GET /containers/json` (running containers).
Result<std::vector<std::string>> parse_container_list(const nlohmann::json& list);

// Go's RFC 3339 with up to nine fractional digits ("2026-11-22T18:36:09.084725193Z", also
// "+02:00" offsets) -> nanoseconds since the epoch. Go's zero time "0001-01-01T00:00:00Z"
// (never started) -> 0. Times int64 nanoseconds cannot hold are an Error.
Result<int64_t> parse_docker_time(std::string_view text);

// The Workload a container is, or nullopt when flowwall has nothing to guard:
// - not running, or restarting (Docker reports Running while a restart policy waits, with no
//   process and no namespace): nothing to attach to; it comes back with a start event;
// - network mode "host": it is the node itself, its traffic belongs to identity `host` and
//   there is no interface of its own to attach to;
// - network mode "container:<other>": it lives in the other container's namespace, whose own
//   workload already guards those interfaces; a second workload would attach to the same
//   interfaces under a second identity, and its traffic cannot be told apart from the owner's;
// - no namespace at all (neither SandboxKey nor a pid): nothing to enter.
// interfaces stay empty (every interface but loopback is guarded); host_interfaces stay empty
// (the container's own namespace is where flowwall attaches).
std::optional<Workload> to_workload(const ContainerInfo& info, const IdentityNaming& naming);

// One line of `GET /events`, reduced to what decides whether a container must be re-read.
struct ContainerEvent {
    std::string type;         // "container" or "network"
    std::string action;       // "start", "die", "connect", ...
    std::string container_id; // container events: Actor.ID; network events: the container

    bool operator==(const ContainerEvent&) const = default;
};

// nullopt for events that cannot change a container's workload (exec_*, health_status, image
// and volume events, network create/destroy); an Error only for lines that are not an event.
Result<std::optional<ContainerEvent>> parse_event_line(std::string_view line);

// The actions parse_event_line() keeps, for the server-side `event` filter of /events.
const std::vector<std::string>& relevant_event_actions();

} // namespace flowwall::identity::docker
