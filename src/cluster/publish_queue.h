// SPDX-License-Identifier: Apache-2.0
// What this node must still write to the store: its flows, removals and identity sightings,
// key -> value, the latest value of a key replacing an older one (so the queue holds at most
// one entry per flow, whatever the store's outage lasts). Persisted atomically in the state
// dir (<state dir>/cluster-queue.json) so that a restart while the store is away loses
// nothing, and bounded: beyond max_entries new keys are refused and counted, and the node
// republishes its whole model once the queue has drained (the model on disk has them all).
//
// The file: {"version": 1, "node": "<node>", "overflowed": false,
//            "entries": [{"key": "flowwall/v1/flows/<node>/...", "value": "{...}"}]}
// Only keys under this node's own prefixes are accepted from it. Not thread-safe.
#pragma once

#include "src/common/result.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace flowwall::cluster {

inline constexpr const char* kPublishQueueFile = "cluster-queue.json";
inline constexpr size_t kDefaultMaxQueued = 200'000;

class PublishQueue {
public:
    // The queue saved at `path`, or an empty one when there is none (first_start() then says
    // so). A file that does not read (not JSON, another node's, a key outside the node's
    // prefixes, too many entries) is an error naming the file and what was wrong; the caller
    // moves it aside (set_aside()) and republishes the model.
    static Result<PublishQueue> load(std::filesystem::path path, std::string node,
                                     size_t max_entries = kDefaultMaxQueued);
    // Renames a file load() refused to <path>.corrupt, so it is kept for a person to read
    // and never read again.
    static Status set_aside(const std::filesystem::path& path);

    // False (and counted) when the key is new and the queue is full.
    bool push(const std::string& key, std::string value);
    // Up to `limit` entries, in key order, to publish; the queue keeps them until done().
    std::vector<std::pair<std::string, std::string>> peek(size_t limit) const;
    // These were published: each leaves the queue unless a newer value replaced it meanwhile.
    void done(const std::vector<std::pair<std::string, std::string>>& published);

    Status save() const;
    bool dirty() const { return dirty_; }

    // The value waiting under key, or null.
    const std::string* find(const std::string& key) const {
        auto found = entries_.find(key);
        return found == entries_.end() ? nullptr : &found->second;
    }
    size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    size_t max_entries() const { return max_entries_; }
    uint64_t dropped() const { return dropped_; }
    // Some key was refused since the last clear_overflow(): republish the model after draining.
    bool overflowed() const { return overflowed_; }
    void clear_overflow();
    bool first_start() const { return first_start_; }

private:
    PublishQueue(std::filesystem::path path, std::string node, size_t max_entries)
        : path_(std::move(path)), node_(std::move(node)), max_entries_(max_entries) {}

    std::filesystem::path path_;
    std::string node_;
    size_t max_entries_;
    std::map<std::string, std::string> entries_;
    uint64_t dropped_ = 0;
    bool overflowed_ = false;
    bool first_start_ = false;
    mutable bool dirty_ = false;
};

} // namespace flowwall::cluster
