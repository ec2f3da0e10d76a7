// SPDX-License-Identifier: Apache-2.0
// A WorkloadSink that records what a source reported, keeps the state those reports add up to,
// and lets a test wait (bounded) for a condition on either. Shared by the unit tests against
// the fake daemon and the end-to-end tests against the real one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/identity/workload_source.h"

namespace flowwall::testing {

class RecordingSink : public identity::WorkloadSink {
public:
    enum class Kind { replace_all, upsert, remove, health };
    struct Record {
        Kind kind;
        std::chrono::steady_clock::time_point when;
        std::chrono::system_clock::time_point wall; // to compare with the runtime's times
        std::vector<identity::Workload> workloads;  // replace_all: all; upsert: the one
        std::string key;                            // remove
        identity::SourceHealth health;              // health
    };
    // What the records add up to, as the daemon would see it.
    struct View {
        const std::vector<Record>& records;
        const std::map<std::string, identity::Workload>& state;
        std::optional<identity::SourceHealth> health;
    };

    void replace_all(const std::string&, std::vector<identity::Workload> workloads) override {
        std::lock_guard lock(mutex_);
        state_.clear();
        for (const auto& w : workloads)
            state_[w.key] = w;
        add(Record{Kind::replace_all, now(), wall(), std::move(workloads), {}, {}});
    }
    void upsert(identity::Workload workload) override {
        std::lock_guard lock(mutex_);
        state_[workload.key] = workload;
        add(Record{Kind::upsert, now(), wall(), {std::move(workload)}, {}, {}});
    }
    void remove(const std::string&, const std::string& key) override {
        std::lock_guard lock(mutex_);
        state_.erase(key);
        add(Record{Kind::remove, now(), wall(), {}, key, {}});
    }
    void health(const std::string&, identity::SourceHealth health) override {
        std::lock_guard lock(mutex_);
        health_ = health;
        add(Record{Kind::health, now(), wall(), {}, {}, std::move(health)});
    }

    // Waits until `ready` holds or `timeout` passes. `ready` is checked on some reports, not
    // necessarily after each one (several can land before the waiter wakes): look for what
    // happened in the records, not at which record is last.
    bool wait_for(const std::function<bool(const View&)>& ready,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] {
            return ready(View{records_, state_, health_});
        });
    }
    // Runs `read` on a consistent snapshot.
    void inspect(const std::function<void(const View&)>& read) {
        std::lock_guard lock(mutex_);
        read(View{records_, state_, health_});
    }
    std::optional<identity::Workload> workload(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto it = state_.find(key);
        return it == state_.end() ? std::nullopt : std::optional(it->second);
    }
    size_t count(Kind kind) {
        std::lock_guard lock(mutex_);
        size_t n = 0;
        for (const auto& r : records_)
            n += r.kind == kind;
        return n;
    }
    size_t size() {
        std::lock_guard lock(mutex_);
        return records_.size();
    }

private:
    static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
    static std::chrono::system_clock::time_point wall() { return std::chrono::system_clock::now(); }
    void add(Record record) {
        records_.push_back(std::move(record));
        changed_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Record> records_;
    std::map<std::string, identity::Workload> state_;
    std::optional<identity::SourceHealth> health_;
};

} // namespace flowwall::testing
