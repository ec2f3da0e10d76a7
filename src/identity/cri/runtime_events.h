// SPDX-License-Identifier: Apache-2.0
// Tells the CRI source the moment the runtime changed something, so that a started pod is
// reported within milliseconds instead of at the next one-second poll.
//
// containerd 1.6 answers CRI's GetContainerEvents with UNIMPLEMENTED; its own events service
// (containerd.services.events.v1.Events/Subscribe, on the same socket) is what it offers.
// Events only wake the source: what is reported is what the next listing says, so a late,
// lost or duplicated event cannot leave a wrong record. On a runtime without that service
// (CRI-O) the watch ends at once; the source then follows CRI's own GetContainerEvents
// stream where the runtime offers it (CriSource::follow_cri_events), and polls alone where
// it does not.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>

namespace flowwall::identity::cri {

// following: containerd's task events; following_cri: CRI's GetContainerEvents (CRI-O,
// containerd >= 1.7 when its events service is not reachable); unsupported: neither.
enum class EventWatchState { connecting, following, following_cri, unsupported };

struct RuntimeEventWatchOptions {
    std::string socket_path;
    std::string containerd_namespace = "k8s.io"; // where CRI keeps its containers
    std::chrono::milliseconds backoff_min{200};
    std::chrono::milliseconds backoff_max{std::chrono::seconds(10)};
};

// Runs until stop is requested (returning within a few milliseconds of it) or the runtime
// turns out not to offer the service. Calls on_change for every task start, exit or delete
// and container delete of the namespace; on_state when the watch's state changes. Never throws.
void watch_runtime_events(const RuntimeEventWatchOptions& options,
                          const std::function<void()>& on_change,
                          const std::function<void(EventWatchState)>& on_state,
                          std::stop_token stop);

} // namespace flowwall::identity::cri
