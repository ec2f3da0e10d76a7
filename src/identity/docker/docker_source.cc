// SPDX-License-Identifier: Apache-2.0
#include "src/identity/docker/docker_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "src/identity/docker/container_inspect.h"

namespace flowwall::identity::docker {

namespace {

constexpr const char* kSource = "docker";

std::string events_path(int64_t since_seconds) {
    // Filtered by the daemon, so exec_* and health_status events of busy containers are never
    // sent, let alone parsed.
    const nlohmann::json filters = {{"type", {"container", "network"}},
                                    {"event", relevant_event_actions()}};
    return "/events?since=" + std::to_string(since_seconds) +
           "&filters=" + url_encode(filters.dump());
}

std::string inspect_path(const std::string& id) {
    return "/containers/" + id + "/json";
}

// Thrown out of the event callback to leave the stream with the daemon error that refresh()
// hit; stream_lines() catches it, the caller reads the error it carries.
struct LeaveStream : std::exception {
    const char* what() const noexcept override { return "leaving the event stream"; }
};

} // namespace

DockerSource::DockerSource(Options options)
    : options_(std::move(options)),
      client_(DockerApiClient::Options{.socket_path = options_.socket_path,
                                       .timeout = options_.request_timeout}) {}

void DockerSource::run(WorkloadSink& sink, std::stop_token stop) {
    SourceHealth health;
    run_with_backoff({kSource, options_.backoff_min, options_.backoff_max}, sink, stop, health,
                     [&] { return sync_and_follow(sink, stop, health); });
}

// Resync by leaving the stream and listing again, rather than listing on a second timer
// beside a live stream: one connection at a time, and listing and events never interleave,
// so no record can be overwritten by an older one read concurrently. Nothing is lost in the
// gap because each stream asks for the events since just before its listing (`since`), which
// the daemon replays; replayed events only cost one inspect each.
Status DockerSource::sync_and_follow(WorkloadSink& sink, std::stop_token stop,
                                     SourceHealth& health) {
    // One second earlier than now: `since` has one-second resolution, and an event in the
    // same second as the listing must still be replayed.
    const int64_t since = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          1;
    const bool recovering = health.state != SourceState::synced;
    if (Status listed = list_all(sink, stop, health); !listed)
        return listed;
    if (recovering)
        spdlog::info("docker: connected to {}: {}; following events", options_.socket_path,
                     health.message);
    else
        spdlog::debug("docker: resynced: {}", health.message);

    std::optional<Error> refresh_error;
    auto on_line = [&](std::string_view line) {
        auto event = parse_event_line(line);
        if (!event) {
            ++health.errors;
            spdlog::warn("docker: ignoring an event: {}", event.error().to_string());
            return;
        }
        if (!event.value())
            return;
        const ContainerEvent& e = *event.value();
        spdlog::debug("docker: event {} {} {}", e.type, e.action, e.container_id.substr(0, 12));
        if (Status refreshed = refresh(e.container_id, sink, stop, health); !refreshed) {
            refresh_error = refreshed.error();
            throw LeaveStream();
        }
    };
    const auto until = std::chrono::steady_clock::now() + options_.resync_interval;
    Status streamed = client_.stream_lines(events_path(since), on_line, stop, until);
    if (refresh_error)
        return *refresh_error;
    return streamed;
}

Status DockerSource::list_all(WorkloadSink& sink, std::stop_token stop, SourceHealth& health) {
    auto list = client_.get_json("/containers/json", stop);
    if (!list)
        return list.error();
    auto ids = parse_container_list(list.value());
    if (!ids)
        return ids.error();
    std::vector<Workload> workloads;
    std::optional<GatewayBridgeAddresses> bridge;
    size_t unreadable = 0;
    for (const std::string& id : ids.value()) {
        auto response = client_.get(inspect_path(id), stop);
        if (!response)
            return response.error();
        if (response.value().status == 404)
            continue; // removed since the listing; its destroy event follows
        std::optional<Error> problem;
        if (response.value().status < 200 || response.value().status >= 300) {
            problem = Error{0, "inspect " + id.substr(0, 12) + ": HTTP " +
                                   std::to_string(response.value().status)};
        } else if (auto info = parse_container_inspect(response.value().body); !info) {
            problem = info.error();
        } else if (auto workload = to_workload(info.value(), options_.naming)) {
            if (info.value().on_swarm_network)
                add_gateway_bridge_addresses(*workload, id, bridge, stop, health);
            workloads.push_back(std::move(*workload));
        }
        if (problem) {
            // Left out of this listing rather than failing it: one odd container must not
            // keep every other one from being guarded. The next resync tries again.
            ++unreadable;
            ++health.errors;
            spdlog::warn("docker: skipping a container: {}", problem->to_string());
        }
    }
    const size_t count = workloads.size();
    sink.replace_all(kSource, std::move(workloads));
    health.state = SourceState::synced;
    health.last_sync = std::chrono::system_clock::now();
    health.message = std::to_string(ids.value().size()) + " running containers, " +
                     std::to_string(count) + " with a network of their own";
    if (unreadable > 0)
        health.message += ", " + std::to_string(unreadable) + " unreadable";
    sink.health(kSource, health);
    return {};
}

Status DockerSource::refresh(const std::string& id, WorkloadSink& sink, std::stop_token stop,
                             SourceHealth& health) {
    const std::string key = "docker/" + id;
    auto response = client_.get(inspect_path(id), stop);
    if (!response)
        return response.error();
    if (response.value().status == 404) {
        sink.remove(kSource, key);
        return {};
    }
    if (response.value().status < 200 || response.value().status >= 300) {
        ++health.errors;
        spdlog::warn("docker: inspect {}: HTTP {}; keeping what was known", id.substr(0, 12),
                     response.value().status);
        return {};
    }
    auto info = parse_container_inspect(response.value().body);
    if (!info) {
        ++health.errors;
        spdlog::warn("docker: {}; keeping what was known", info.error().to_string());
        return {};
    }
    if (auto workload = to_workload(info.value(), options_.naming)) {
        if (info.value().on_swarm_network) {
            std::optional<GatewayBridgeAddresses> bridge;
            add_gateway_bridge_addresses(*workload, id, bridge, stop, health);
        }
        spdlog::debug("docker: upsert {} ({}) as {}", workload->name, id.substr(0, 12),
                      workload->identity);
        sink.upsert(std::move(*workload));
    } else {
        sink.remove(kSource, key);
    }
    return {};
}

void DockerSource::add_gateway_bridge_addresses(Workload& workload, const std::string& id,
                                                std::optional<GatewayBridgeAddresses>& bridge,
                                                std::stop_token stop, SourceHealth& health) {
    if (!bridge) {
        bridge.emplace();
        auto response = client_.get(kGatewayBridgePath, stop);
        std::optional<Error> problem;
        if (!response) {
            problem = response.error();
        } else if (response.value().status == 404) {
            // No docker_gwbridge (yet): nothing to add.
        } else if (response.value().status < 200 || response.value().status >= 300) {
            problem = Error{0, std::string(kGatewayBridgePath) + ": HTTP " +
                                   std::to_string(response.value().status)};
        } else if (auto parsed = parse_gateway_bridge(response.value().body); !parsed) {
            problem = parsed.error();
        } else {
            *bridge = std::move(parsed).value();
        }
        if (problem) {
            ++health.errors;
            spdlog::warn("docker: cannot read the docker_gwbridge addresses of Swarm tasks: {}; "
                         "what they send through it is dropped as forged until a later read",
                         problem->to_string());
        }
    }
    auto found = bridge->find(id);
    if (found == bridge->end())
        return;
    for (const IpAddress& address : found->second)
        if (std::find(workload.addresses.begin(), workload.addresses.end(), address) ==
            workload.addresses.end())
            workload.addresses.push_back(address);
}

} // namespace flowwall::identity::docker
