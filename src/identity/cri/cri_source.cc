// SPDX-License-Identifier: Apache-2.0
#include "src/identity/cri/cri_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <set>
#include <thread>

namespace flowwall::identity::cri {

namespace {

constexpr const char* kSource = "cri";

bool runtime_gone(const Error& error) {
    return error.errnum == kRuntimeUnavailable;
}

std::string short_id(const std::string& id) {
    return id.substr(0, 12);
}

} // namespace

CriSource::CriSource(Options options) : options_(std::move(options)) {}

void CriSource::run(WorkloadSink& sink, std::stop_token stop) {
    if (options_.socket_path.empty())
        options_.socket_path = default_cri_socket();
    SourceHealth health;
    if (options_.socket_path.empty()) {
        // Nothing to retry against: say so once and wait for the stop.
        health.state = SourceState::unavailable;
        health.message = "no CRI socket: neither /run/containerd/containerd.sock nor "
                         "/var/run/crio/crio.sock exists; set cri-socket";
        spdlog::error("cri: {}", health.message);
        sink.health(kSource, health);
        while (sleep_unless_stopped(std::chrono::seconds(1), stop)) {
        }
        return;
    }
    client_ = std::make_unique<CriClient>(CriClient::Options{.socket_path = options_.socket_path,
                                                             .timeout = options_.request_timeout});
    // Stopped and joined when run() returns: the outer stop asks the jthread's own token to
    // stop, and the watch cancels its call on it.
    std::jthread event_watch;
    if (options_.follow_runtime_events) {
        event_watch = std::jthread([this](std::stop_token watch_stop) {
            watch_runtime_events(
                RuntimeEventWatchOptions{.socket_path = options_.socket_path,
                                         .backoff_min = options_.backoff_min,
                                         .backoff_max = options_.backoff_max},
                [this] { wake(); }, [this](EventWatchState state) { events_state_ = state; },
                watch_stop);
            if (!watch_stop.stop_requested() && events_state_ == EventWatchState::unsupported)
                follow_cri_events(watch_stop);
        });
    } else {
        events_state_ = EventWatchState::unsupported;
    }
    std::stop_callback stop_watch(stop, [&event_watch] { event_watch.request_stop(); });
    // After a failure the next success lists everything again and replaces: nothing stale
    // survives an outage, and what is in the kernel stays until then.
    run_with_backoff(
        {kSource, options_.backoff_min, options_.backoff_max}, sink, stop, health,
        [&] { return sync_and_poll(sink, stop, health); },
        [this] {
            known_.clear();
            containers_.clear();
        });
}

Status CriSource::sync_and_poll(WorkloadSink& sink, std::stop_token stop, SourceHealth& health) {
    const bool recovering = health.state != SourceState::synced;
    if (recovering) {
        auto version = client_->version();
        if (!version)
            return version.error();
        spdlog::info("cri: connected to {} ({} {}, CRI {})", options_.socket_path,
                     version.value().runtime_name(), version.value().runtime_version(),
                     version.value().runtime_api_version());
    }
    if (Status listed = list_all(sink, health); !listed)
        return listed;
    if (recovering)
        spdlog::info("cri: {}", health.message);
    // After an event, the runtime may still be finishing what it announced (a task has
    // started; the CRI plugin marks the sandbox ready or the container running just after):
    // a few quick polls follow, then the regular interval.
    using std::chrono::milliseconds;
    static constexpr std::array<milliseconds, 4> kFollowUps{milliseconds(10), milliseconds(40),
                                                            milliseconds(150), milliseconds(400)};
    size_t follow_up = kFollowUps.size();
    const auto until = std::chrono::steady_clock::now() + options_.resync_interval;
    while (std::chrono::steady_clock::now() < until) {
        const milliseconds wait =
            follow_up < kFollowUps.size() ? kFollowUps[follow_up] : regular_poll_interval();
        bool woken = false;
        if (!wait_for_change(wait, stop, woken))
            return {};
        follow_up = woken ? 0 : follow_up + 1;
        if (Status polled = poll_once(sink, health); !polled)
            return polled;
    }
    return {};
}

std::chrono::milliseconds CriSource::regular_poll_interval() const {
    // With events, a poll only repairs what an event could not announce: less often.
    const auto state = events_state_.load();
    return state == EventWatchState::following || state == EventWatchState::following_cri
               ? options_.poll_interval_with_events
               : options_.poll_interval;
}

void CriSource::follow_cri_events(std::stop_token stop) {
    // Its own channel: a stream that stays open must not share the deadline-bound calls'.
    CriClient events_client(CriClient::Options{.socket_path = options_.socket_path,
                                               .timeout = options_.request_timeout});
    auto backoff = options_.backoff_min;
    while (!stop.stop_requested()) {
        // Re-subscribed now and then, so that a stream a runtime silently dropped is noticed.
        Status followed = events_client.follow_container_events(
            [this](const runtime::v1::ContainerEventResponse&) {
                events_state_ = EventWatchState::following_cri;
                wake();
            },
            stop, std::chrono::steady_clock::now() + std::chrono::minutes(5));
        if (stop.stop_requested())
            return;
        if (followed) {
            backoff = options_.backoff_min;
            continue;
        }
        if (followed.error().errnum == kUnimplemented) {
            spdlog::info("cri: the runtime offers no container events either ({}); polling only",
                         followed.error().message);
            events_state_ = EventWatchState::unsupported;
            return;
        }
        // The runtime restarting: polls go on meanwhile, at the interval without events.
        events_state_ = EventWatchState::unsupported;
        spdlog::debug("cri: container events ended ({}); again in {} ms", followed.error().message,
                      backoff.count());
        if (!sleep_unless_stopped(backoff, stop))
            return;
        backoff = std::min(backoff * 2, options_.backoff_max);
    }
}

bool CriSource::wait_for_change(std::chrono::milliseconds duration, std::stop_token stop,
                                bool& woken) {
    std::unique_lock lock(wake_mutex_);
    wake_cv_.wait_for(lock, stop, duration, [this] { return wake_pending_; });
    woken = wake_pending_;
    wake_pending_ = false;
    return !stop.stop_requested();
}

void CriSource::wake() {
    {
        std::lock_guard lock(wake_mutex_);
        wake_pending_ = true;
    }
    wake_cv_.notify_all();
}

std::string CriSource::events_note() const {
    switch (events_state_.load()) {
    case EventWatchState::following:
        return "containerd task events, polling every " +
               std::to_string(options_.poll_interval_with_events.count()) + " ms";
    case EventWatchState::following_cri:
        return "CRI container events, polling every " +
               std::to_string(options_.poll_interval_with_events.count()) + " ms";
    case EventWatchState::unsupported:
        return "no runtime events, polling every " +
               std::to_string(options_.poll_interval.count()) + " ms";
    case EventWatchState::connecting:
        break;
    }
    return "polling every " + std::to_string(options_.poll_interval.count()) + " ms";
}

Result<std::map<std::string, std::vector<std::string>>> CriSource::running_pods() {
    auto sandboxes = client_->list_ready_pod_sandboxes();
    if (!sandboxes)
        return sandboxes.error();
    auto containers = client_->list_running_containers();
    if (!containers)
        return containers.error();
    std::map<std::string, std::vector<std::string>> pods;
    for (const auto& sandbox : sandboxes.value())
        if (!sandbox.id().empty())
            pods[sandbox.id()];
    for (const auto& container : containers.value()) {
        // A container of a sandbox that is not ready (stopping) has nothing to report.
        auto pod = pods.find(container.pod_sandbox_id());
        if (pod != pods.end() && !container.id().empty())
            pod->second.push_back(container.id());
    }
    for (auto& [id, ids] : pods)
        std::sort(ids.begin(), ids.end());
    return pods;
}

Result<std::optional<Workload>> CriSource::read_pod(const std::string& id,
                                                    const std::vector<std::string>& container_ids,
                                                    SourceHealth& health) {
    auto status = client_->pod_sandbox_status(id, /*verbose=*/true);
    if (!status) {
        if (runtime_gone(status.error()))
            return status.error();
        if (status.error().errnum != kNotFound) {
            ++health.errors;
            spdlog::warn("cri: sandbox {}: {}", short_id(id), status.error().to_string());
        }
        return std::optional<Workload>();
    }
    auto pod = parse_pod_sandbox_status(status.value());
    if (!pod) {
        ++health.errors;
        spdlog::warn("cri: skipping sandbox {}: {}", short_id(id), pod.error().message);
        return std::optional<Workload>();
    }
    for (const std::string& problem : pod.value().problems)
        spdlog::warn("cri: pod {}/{}: {}", pod.value().namespace_name, pod.value().name, problem);
    for (const std::string& container_id : container_ids) {
        auto cached = containers_.find(container_id);
        if (cached == containers_.end()) {
            auto answer = client_->container_status(container_id);
            if (!answer) {
                if (runtime_gone(answer.error()))
                    return answer.error();
                if (answer.error().errnum != kNotFound) {
                    ++health.errors;
                    spdlog::warn("cri: container {}: {}", short_id(container_id),
                                 answer.error().to_string());
                }
                continue;
            }
            auto container = parse_container_status(answer.value());
            if (!container) {
                ++health.errors;
                spdlog::warn("cri: container {}: {}", short_id(container_id),
                             container.error().message);
                continue;
            }
            cached = containers_.emplace(container_id, std::move(container).value()).first;
        }
        pod.value().containers.push_back(cached->second);
    }
    // The first application container is the oldest one running (init containers have
    // exited by the time the others start).
    std::sort(pod.value().containers.begin(), pod.value().containers.end(),
              [](const PodContainer& a, const PodContainer& b) {
                  return std::tie(a.created_ns, a.id) < std::tie(b.created_ns, b.id);
              });
    std::string why_not;
    auto workload = to_workload(pod.value(), options_.naming, &why_not);
    if (!workload)
        spdlog::debug("cri: pod {}/{} is no workload: {}", pod.value().namespace_name,
                      pod.value().name, why_not);
    return workload;
}

void CriSource::forget_stopped_containers(
    const std::map<std::string, std::vector<std::string>>& pods) {
    std::set<std::string> running;
    for (const auto& [id, ids] : pods)
        running.insert(ids.begin(), ids.end());
    std::erase_if(containers_, [&](const auto& entry) { return !running.contains(entry.first); });
}

Status CriSource::list_all(WorkloadSink& sink, SourceHealth& health) {
    auto pods = running_pods();
    if (!pods)
        return pods.error();
    std::vector<Workload> workloads;
    std::map<std::string, KnownPod> known;
    for (const auto& [id, container_ids] : pods.value()) {
        auto workload = read_pod(id, container_ids, health);
        if (!workload)
            return workload.error();
        known[id] = KnownPod{container_ids, workload.value().has_value()};
        if (workload.value())
            workloads.push_back(std::move(*workload.value()));
    }
    forget_stopped_containers(pods.value());
    known_ = std::move(known);
    const size_t count = workloads.size();
    sink.replace_all(kSource, std::move(workloads));
    health.state = SourceState::synced;
    health.last_sync = std::chrono::system_clock::now();
    health.message = health_message(pods.value().size(), count);
    sink.health(kSource, health);
    return {};
}

std::string CriSource::health_message(size_t ready_pods, size_t guarded) const {
    return std::to_string(ready_pods) + " ready pods, " + std::to_string(guarded) +
           " with a network of their own (" + events_note() + ")";
}

Status CriSource::poll_once(WorkloadSink& sink, SourceHealth& health) {
    auto pods = running_pods();
    if (!pods)
        return pods.error();
    for (auto known = known_.begin(); known != known_.end();) {
        if (pods.value().contains(known->first)) {
            ++known;
            continue;
        }
        if (known->second.reported) {
            spdlog::debug("cri: sandbox {} is gone", short_id(known->first));
            sink.remove(kSource, "cri/" + known->first);
        }
        known = known_.erase(known);
    }
    for (const auto& [id, container_ids] : pods.value()) {
        auto known = known_.find(id);
        if (known != known_.end() && known->second.running_containers == container_ids)
            continue;
        auto workload = read_pod(id, container_ids, health);
        if (!workload)
            return workload.error();
        const bool was_reported = known != known_.end() && known->second.reported;
        if (workload.value()) {
            spdlog::debug("cri: upsert {} ({}) as {}", workload.value()->name, short_id(id),
                          workload.value()->identity);
            sink.upsert(std::move(*workload.value()));
            known_[id] = KnownPod{container_ids, true};
        } else {
            if (was_reported)
                sink.remove(kSource, "cri/" + id);
            known_[id] = KnownPod{container_ids, false};
        }
    }
    forget_stopped_containers(pods.value());
    // Counts and the way changes are followed (events may start or stop) stay current in
    // `status`; reported only when they changed.
    const auto guarded = std::count_if(known_.begin(), known_.end(),
                                       [](const auto& pod) { return pod.second.reported; });
    if (std::string message = health_message(pods.value().size(), guarded);
        message != health.message) {
        health.message = std::move(message);
        sink.health(kSource, health);
    }
    return {};
}

} // namespace flowwall::identity::cri
