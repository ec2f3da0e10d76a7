// SPDX-License-Identifier: Apache-2.0
// Typed views of BPF maps: the only place where keys and values become void*. A view does
// not own the map; the object that loaded it (FirewallObject, PrefilterObject) does.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/common/result.h"

namespace flowwall::datapath {

// Turns a failed map update into an error that names the map and, when it is full, what
// to change.
Error map_update_error(const std::string& map_name, int errnum, uint32_t max_entries);

template <typename Key, typename Value>
class TypedMap {
public:
    TypedMap() = default;
    TypedMap(int fd, std::string name, uint32_t max_entries)
        : fd_(fd), name_(std::move(name)), max_entries_(max_entries) {}

    std::optional<Value> lookup(const Key& key) const {
        Value value{};
        if (bpf_map_lookup_elem(fd_, &key, &value) != 0)
            return std::nullopt;
        return value;
    }

    Status update(const Key& key, const Value& value, uint64_t flags = BPF_ANY) {
        if (bpf_map_update_elem(fd_, &key, &value, flags) != 0)
            return map_update_error(name_, errno, max_entries_);
        return {};
    }

    // Absent keys are not an error: the caller wanted them gone.
    Status erase(const Key& key) {
        if (bpf_map_delete_elem(fd_, &key) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "delete from map " + name_);
        return {};
    }

    // Entries at the time of the walk (a concurrent writer may add or remove some): in batches where the kernel has batch lookups for
    // the map type (one syscall per 4,096 entries instead of two per entry: a 100,000-flow
    // policy map is read in milliseconds rather than a few hundred), key by key otherwise.
    std::vector<std::pair<Key, Value>> entries() const {
        std::vector<std::pair<Key, Value>> out;
        if (visit_in_batches(
                [&](const Key& key, const Value& value) { out.emplace_back(key, value); }))
            return out;
        out.clear();
        for_each_key([&](const Key& key) {
            Value value{};
            if (bpf_map_lookup_elem(fd_, &key, &value) == 0)
                out.emplace_back(key, value);
        });
        return out;
    }

    // Entries at the time of the walk. In batches (one syscall per 4,096 entries, against one
    // per entry key by key: a 262,144-entry conntrack map is counted in milliseconds), key by
    // key where the kernel has no batch lookup for the map type.
    std::size_t count() const {
        std::size_t n = 0;
        if (visit_in_batches([&](const Key&, const Value&) { ++n; }))
            return n;
        n = 0;
        for_each_key([&](const Key&) { ++n; });
        return n;
    }

    Status clear() {
        for (const auto& [key, value] : entries()) {
            if (auto status = erase(key); !status)
                return status;
        }
        return {};
    }

    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    uint32_t max_entries() const { return max_entries_; }

private:
    // Visits every entry through BPF_MAP_LOOKUP_BATCH; false when the kernel cannot batch
    // this map (the caller then walks key by key and discards what was visited).
    template <typename Visit>
    bool visit_in_batches(Visit visit) const {
        constexpr uint32_t kBatch = 4096;
        std::vector<Key> keys(kBatch);
        std::vector<Value> values(kBatch);
        // The kernel's cursor: a bucket index for hash maps, a key for arrays.
        union Cursor {
            Key key;
            uint64_t bucket;
        } in{}, out{};
        for (bool first = true;; first = false) {
            uint32_t got = kBatch;
            int err = bpf_map_lookup_batch(fd_, first ? nullptr : &in, &out, keys.data(),
                                           values.data(), &got, nullptr);
            if (err != 0 && errno != ENOENT) // EINVAL/ENOTSUPP: no batch ops; ENOSPC: bucket
                return false;                // larger than a batch
            for (uint32_t i = 0; i < got; ++i)
                visit(keys[i], values[i]);
            if (err != 0) // ENOENT: that was the last batch
                return true;
            in = out;
        }
    }

    template <typename Visit>
    void for_each_key(Visit visit) const {
        Key key{}, next{};
        const Key* cursor = nullptr;
        while (bpf_map_get_next_key(fd_, cursor, &next) == 0) {
            visit(next);
            key = next;
            cursor = &key;
        }
    }

    int fd_ = -1;
    std::string name_;
    uint32_t max_entries_ = 0;
};

// The view of a map of a loaded object.
template <typename Key, typename Value>
TypedMap<Key, Value> typed_view(const bpf_map* map) {
    return TypedMap<Key, Value>(bpf_map__fd(map), bpf_map__name(map), bpf_map__max_entries(map));
}

// A per-CPU array: the kernel hands user space one value per possible CPU.
template <typename Value>
class PerCpuArray {
public:
    PerCpuArray() = default;
    PerCpuArray(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

    std::vector<Value> lookup_per_cpu(uint32_t index) const {
        std::vector<Value> values(static_cast<std::size_t>(libbpf_num_possible_cpus()));
        if (bpf_map_lookup_elem(fd_, &index, values.data()) != 0)
            values.clear();
        return values;
    }

    Status reset(uint32_t index) {
        std::vector<Value> zeros(static_cast<std::size_t>(libbpf_num_possible_cpus()));
        if (bpf_map_update_elem(fd_, &index, zeros.data(), BPF_ANY) != 0)
            return Error::from_errno(errno, "reset " + name_ + "[" + std::to_string(index) + "]");
        return {};
    }

    int fd() const { return fd_; }

private:
    int fd_ = -1;
    std::string name_;
};

} // namespace flowwall::datapath
