// SPDX-License-Identifier: Apache-2.0
// The container runtime (CRI) as a WorkloadSource: every ready pod sandbox of the node with
// its namespace, addresses, network namespace and the image of its first application
// container.
//
// Changes are found the way kubelet's generic PLEG finds them: every poll interval (1 s)
// the source lists ready sandboxes and running containers (two small calls) and re-reads
// only the sandboxes whose set of running containers changed. containerd 1.6 (Debian 12)
// answers GetContainerEvents with UNIMPLEMENTED; its own task events (runtime_events.h) wake
// the poll at once, followed by a few quick polls while the runtime finishes what it
// announced. A full re-read every resync interval is the safety net, as with Docker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "src/identity/cri/cri_client.h"
#include "src/identity/cri/pod_workload.h"
#include "src/identity/cri/runtime_events.h"
#include "src/identity/workload_source.h"

namespace flowwall::identity::cri {

class CriSource : public WorkloadSource {
public:
    struct Options {
        std::string socket_path; // empty: default_cri_socket() when run() starts
        PodNaming naming;
        std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
        // While the runtime's events are followed, they wake the poll; the regular poll is
        // then only the repair of a missed event.
        std::chrono::milliseconds poll_interval_with_events{std::chrono::seconds(5)};
        std::chrono::milliseconds resync_interval{std::chrono::seconds(30)};
        std::chrono::milliseconds backoff_min{200};
        std::chrono::milliseconds backoff_max{std::chrono::seconds(10)};
        std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
        // Subscribe to containerd's task events to poll at once on a change.
        bool follow_runtime_events = true;
    };

    explicit CriSource(Options options);

    std::string name() const override { return "cri"; }
    void run(WorkloadSink& sink, std::stop_token stop) override;

private:
    // What the last poll saw of one ready sandbox.
    struct KnownPod {
        std::vector<std::string> running_containers; // sorted ids
        bool reported = false;                       // a workload is in the sink
    };

    // A full listing (replace_all), then polls until the resync interval ends (ok) or the
    // runtime fails (the Error).
    Status sync_and_poll(WorkloadSink& sink, std::stop_token stop, SourceHealth& health);
    Status list_all(WorkloadSink& sink, SourceHealth& health);
    Status poll_once(WorkloadSink& sink, SourceHealth& health);
    // Sandbox id -> its running container ids (sorted), or an Error.
    Result<std::map<std::string, std::vector<std::string>>> running_pods();
    // Reads one sandbox and its containers: the workload (if any), nullopt when there is
    // none; an Error only when the runtime is unreachable.
    Result<std::optional<Workload>> read_pod(const std::string& id,
                                             const std::vector<std::string>& container_ids,
                                             SourceHealth& health);
    void forget_stopped_containers(const std::map<std::string, std::vector<std::string>>& pods);
    // Waits up to `duration` or until an event wakes it (true); false only on stop.
    bool wait_for_change(std::chrono::milliseconds duration, std::stop_token stop, bool& woken);
    void wake();
    // CRI's GetContainerEvents as the wake-up, for runtimes without containerd's events
    // service; returns when stopped or when the runtime does not offer it either.
    void follow_cri_events(std::stop_token stop);
    std::string events_note() const;
    std::string health_message(size_t ready_pods, size_t guarded) const;
    std::chrono::milliseconds regular_poll_interval() const;

    Options options_;
    std::unique_ptr<CriClient> client_;
    std::map<std::string, KnownPod> known_;          // by sandbox id
    std::map<std::string, PodContainer> containers_; // by container id; images never change

    std::mutex wake_mutex_;
    std::condition_variable_any wake_cv_;
    bool wake_pending_ = false;
    std::atomic<EventWatchState> events_state_{EventWatchState::connecting};
};

} // namespace flowwall::identity::cri
