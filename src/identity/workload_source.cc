// SPDX-License-Identifier: Apache-2.0
#include "src/identity/workload_source.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

namespace flowwall::identity {

const char* to_string(SourceState state) {
    switch (state) {
    case SourceState::starting:
        return "starting";
    case SourceState::synced:
        return "synced";
    case SourceState::unavailable:
        return "unavailable";
    }
    return "invalid";
}

bool sleep_unless_stopped(std::chrono::milliseconds duration, std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any cv;
    std::unique_lock lock(mutex);
    // wait_for's result is the predicate's, always false here: ask the token itself.
    cv.wait_for(lock, stop, duration, [] { return false; });
    return !stop.stop_requested();
}

void run_with_backoff(const RetryOptions& options, WorkloadSink& sink, std::stop_token stop,
                      SourceHealth& health, const std::function<Status()>& attempt,
                      const std::function<void()>& after_failure) {
    const std::string& name = options.source;
    auto backoff = options.backoff_min;
    while (!stop.stop_requested()) {
        const auto cycle_start = std::chrono::steady_clock::now();
        Status status;
        try {
            status = attempt();
        } catch (const std::exception& e) {
            status = Error{0, name + " source: " + e.what()};
        } catch (...) {
            status = Error{0, name + " source: unknown exception"};
        }
        if (stop.stop_requested())
            break;
        if (status.ok()) {
            backoff = options.backoff_min;
            continue;
        }
        if (after_failure)
            after_failure();
        if (std::chrono::steady_clock::now() - cycle_start >= options.backoff_max)
            backoff = options.backoff_min;
        std::string message = status.error().to_string();
        if (health.state != SourceState::unavailable || message != health.message)
            spdlog::warn("{}: {}; retrying in {} ms", name, message, backoff.count());
        else
            spdlog::debug("{}: {}; retrying in {} ms", name, message, backoff.count());
        ++health.errors;
        health.state = SourceState::unavailable;
        health.message = std::move(message);
        try {
            sink.health(name, health);
        } catch (const std::exception& e) {
            spdlog::error("{}: the sink refused a health report: {}", name, e.what());
        } catch (...) {
            spdlog::error("{}: the sink refused a health report", name);
        }
        if (!sleep_unless_stopped(backoff, stop))
            break;
        backoff = std::min(backoff * 2, options.backoff_max);
    }
    spdlog::debug("{}: source stopped", name);
}

} // namespace flowwall::identity
