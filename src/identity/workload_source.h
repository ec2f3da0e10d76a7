// SPDX-License-Identifier: Apache-2.0
// One small interface for every way flowwall learns about workloads (Docker Engine API,
// endpoints file; later CRI, Kubernetes). A source runs on its own thread and reports into a
// WorkloadSink; the daemon owns the sink and serialises what it receives.
#pragma once

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "src/identity/workload.h"

namespace flowwall::identity {

enum class SourceState {
    starting,    // not yet synced once
    synced,      // the last full listing succeeded and events are followed
    unavailable, // cannot reach the runtime / read the file; retrying with backoff
};

const char* to_string(SourceState state);

struct SourceHealth {
    SourceState state = SourceState::starting;
    std::string message; // why unavailable, or what the last sync saw ("12 containers")
    std::chrono::system_clock::time_point last_sync{}; // last successful full listing
    uint64_t errors = 0;                               // failures since start
};

class WorkloadSink {
public:
    virtual ~WorkloadSink() = default;
    // The complete set of workloads of this source: everything of the source not in it is
    // gone. Sent after every successful full listing (start-up, resync, file reload).
    virtual void replace_all(const std::string& source, std::vector<Workload> workloads) = 0;
    // One workload appeared or changed (same key: replaces the previous record).
    virtual void upsert(Workload workload) = 0;
    // One workload is gone. Unknown keys are ignored.
    virtual void remove(const std::string& source, const std::string& key) = 0;
    virtual void health(const std::string& source, SourceHealth health) = 0;
};

class WorkloadSource {
public:
    virtual ~WorkloadSource() = default;
    virtual std::string name() const = 0;
    // Runs until stop is requested: lists, follows changes, resyncs, retries with backoff.
    // Must return within about a second of the stop request. Never throws.
    virtual void run(WorkloadSink& sink, std::stop_token stop) = 0;
};

} // namespace flowwall::identity
