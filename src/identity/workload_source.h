// SPDX-License-Identifier: Apache-2.0
// One small interface for every way flowwall learns about workloads (Docker Engine API,
// endpoints file; later CRI, Kubernetes). A source runs on its own thread and reports into a
// WorkloadSink; the daemon owns the sink and serialises what it receives.
#pragma once

#include <functional>

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

// Sleeps for `duration` unless stop is requested first; false when it was.
bool sleep_unless_stopped(std::chrono::milliseconds duration, std::stop_token stop);

struct RetryOptions {
    std::string source; // the name health reports and log lines carry ("docker", "cri")
    std::chrono::milliseconds backoff_min{200};
    std::chrono::milliseconds backoff_max{std::chrono::seconds(10)};
};

// The loop every runtime source runs: `attempt` lists and follows until it fails or stop is
// requested; a failure is reported to the sink as `unavailable` (one warning per outage and
// per change of reason), `after_failure` forgets what the next listing replaces, and the next
// attempt waits a backoff that doubles up to backoff_max. An attempt that held for backoff_max
// was healthy: the backoff starts from the bottom again, so one runtime restart costs
// backoff_min, not whatever the last outage had grown to. Exceptions count as failures.
void run_with_backoff(const RetryOptions& options, WorkloadSink& sink, std::stop_token stop,
                      SourceHealth& health, const std::function<Status()>& attempt,
                      const std::function<void()>& after_failure = {});

} // namespace flowwall::identity
