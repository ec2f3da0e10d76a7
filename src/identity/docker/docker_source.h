// SPDX-License-Identifier: Apache-2.0
// The Docker Engine API as a WorkloadSource: lists the running containers, then follows
// /events and re-reads every container an event names.
//
// Level-triggered: an event only says "look at this container again"; what is reported is
// what `GET /containers/{id}/json` says now. Events that arrive late, twice or out of order
// (a network "connect" before the "start" of a restart) therefore cannot leave a wrong record.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "src/identity/docker/docker_api_client.h"
#include "src/identity/docker/gateway_bridge.h"
#include "src/identity/identity_naming.h"
#include "src/identity/workload_source.h"

namespace flowwall::identity::docker {

class DockerSource : public WorkloadSource {
public:
    struct Options {
        std::string socket_path = "/var/run/docker.sock";
        IdentityNaming naming;
        // A full listing this often repairs anything the event stream could have missed
        // (a daemon that drops events under load, a bug on either side).
        std::chrono::milliseconds resync_interval{std::chrono::seconds(30)};
        std::chrono::milliseconds backoff_min{200};
        std::chrono::milliseconds backoff_max{std::chrono::seconds(10)};
        // Per request; the event stream itself has no limit.
        std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
    };

    explicit DockerSource(Options options);

    std::string name() const override { return "docker"; }
    void run(WorkloadSink& sink, std::stop_token stop) override;

private:
    // One listing followed by the event stream until the resync interval ends (ok) or
    // something fails (the Error). Reports into sink as it goes.
    Status sync_and_follow(WorkloadSink& sink, std::stop_token stop, SourceHealth& health);
    Status list_all(WorkloadSink& sink, std::stop_token stop, SourceHealth& health);
    // Re-reads one container and upserts or removes it. Only errors that mean the daemon is
    // unreachable are returned; an unreadable container is logged and counted.
    Status refresh(const std::string& id, WorkloadSink& sink, std::stop_token stop,
                   SourceHealth& health);
    // Adds a container's docker_gwbridge addresses (gateway_bridge.h) to its workload, reading
    // the network into `bridge` when it is still empty (once per listing). A failure is
    // logged and counted, not returned: the container is guarded all the same, and what it
    // sends through that bridge passes again once a later read succeeds.
    void add_gateway_bridge_addresses(Workload& workload, const std::string& id,
                                      std::optional<GatewayBridgeAddresses>& bridge,
                                      std::stop_token stop, SourceHealth& health);

    Options options_;
    DockerApiClient client_;
};

} // namespace flowwall::identity::docker
