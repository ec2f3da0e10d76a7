// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/kernel_deny_lists.h"

#include "src/denylist/prefix_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace flowwall::daemon {

using denylist::Direction;
using denylist::ListRole;
using denylist::prefix_less;

namespace {

// A diff this large (or larger than a tenth of the table) is a new generation, built beside
// the live one and swapped in, rather than that many single updates of the live table.
constexpr size_t kSwapAbove = 4096;

bool acts_inbound(Direction direction) {
    return direction != Direction::outbound;
}
bool acts_outbound(Direction direction) {
    return direction != Direction::inbound;
}

} // namespace

KernelDenyLists::KernelDenyLists(datapath::DenySets& sets, std::vector<IpPrefix> allow_prefixes)
    : sets_(sets), allow_prefixes_(std::move(allow_prefixes)) {
    // The configured allow prefixes are in force before any list is.
    std::lock_guard lock(mutex_);
    if (auto synced = sync_allow_locked(); !synced)
        spdlog::error("deny lists: the allow prefixes could not be written: {}",
                      synced.error().to_string());
}

datapath::DenyLists KernelDenyLists::entry_locked(const IpPrefix& prefix) const {
    datapath::DenyLists entry;
    for (const auto& [id, held] : lists_) { // by id: the lowest id names a shared prefix
        if (held.spec.role != ListRole::deny ||
            !std::binary_search(held.prefixes.begin(), held.prefixes.end(), prefix, prefix_less))
            continue;
        if (acts_inbound(held.spec.direction) && entry.inbound == 0)
            entry.inbound = static_cast<uint16_t>(id);
        if (acts_outbound(held.spec.direction) && entry.outbound == 0)
            entry.outbound = static_cast<uint16_t>(id);
    }
    return entry;
}

std::vector<datapath::DenyEntry> KernelDenyLists::all_entries_locked() const {
    std::vector<datapath::DenyEntry> entries;
    for (const auto& [id, held] : lists_)
        if (held.spec.role == ListRole::deny)
            for (const auto& prefix : held.prefixes) {
                datapath::DenyLists lists;
                if (acts_inbound(held.spec.direction))
                    lists.inbound = static_cast<uint16_t>(id);
                if (acts_outbound(held.spec.direction))
                    lists.outbound = static_cast<uint16_t>(id);
                entries.push_back({prefix, lists});
            }
    // Stable: for one prefix the lists stay in id order, so the first of each direction wins.
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return prefix_less(a.prefix, b.prefix); });
    std::vector<datapath::DenyEntry> merged;
    for (const auto& entry : entries) {
        if (!merged.empty() && merged.back().prefix == entry.prefix) {
            auto& into = merged.back().lists;
            if (into.inbound == 0)
                into.inbound = entry.lists.inbound;
            if (into.outbound == 0)
                into.outbound = entry.lists.outbound;
        } else {
            merged.push_back(entry);
        }
    }
    return merged;
}

Status KernelDenyLists::apply(uint32_t id, const denylist::ListSpec& spec,
                              const std::vector<IpPrefix>& prefixes,
                              const denylist::PrefixDiff& diff) {
    if (id == 0 || id > datapath::kMaxDenyListId)
        return Error{EINVAL, "list id " + std::to_string(id) + " is outside 1-" +
                                 std::to_string(datapath::kMaxDenyListId)};
    std::lock_guard lock(mutex_);
    auto previous = lists_.find(id);
    std::optional<Held> before;
    if (previous != lists_.end())
        before = previous->second;
    if (spec.role == ListRole::allow) {
        lists_[id] = Held{spec, prefixes};
        if (auto synced = sync_allow_locked(); !synced) {
            if (before)
                lists_[id] = *before;
            else
                lists_.erase(id);
            return synced;
        }
        return {};
    }

    std::vector<IpPrefix> touched = diff.added;
    touched.insert(touched.end(), diff.removed.begin(), diff.removed.end());
    std::vector<datapath::DenyLists> was;
    bool swap = touched.size() > kSwapAbove;
    if (!swap)
        for (const auto& prefix : touched)
            was.push_back(entry_locked(prefix));
    lists_[id] = Held{spec, prefixes};

    Status written;
    if (swap) {
        written = sets_.replace(datapath::DenySnapshot{all_entries_locked()});
    } else {
        datapath::DenyDiff change;
        for (size_t i = 0; i < touched.size(); ++i) {
            auto now = entry_locked(touched[i]);
            if (now.inbound == 0 && now.outbound == 0) {
                if (was[i].inbound != 0 || was[i].outbound != 0)
                    change.erase.push_back(touched[i]);
            } else if (now != was[i]) {
                change.put.push_back({touched[i], now});
            }
        }
        written = sets_.apply(change);
    }
    if (!written) {
        if (before)
            lists_[id] = *before;
        else
            lists_.erase(id);
        return written;
    }
    // A new deny prefix may cover a protected address (or no longer do).
    if (auto synced = sync_allow_locked(); !synced)
        spdlog::error("deny lists: the allow set could not follow list {}: {}", spec.name,
                      synced.error().to_string());
    return {};
}

Status KernelDenyLists::remove(uint32_t id, const denylist::ListSpec& spec,
                               const std::vector<IpPrefix>& prefixes) {
    if (auto cleared = apply(id, spec, {}, denylist::diff(prefixes, {})); !cleared)
        return cleared;
    std::lock_guard lock(mutex_);
    lists_.erase(id);
    return sync_allow_locked();
}

denylist::DropCounters KernelDenyLists::counters(uint32_t id) const {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - counters_read_ > std::chrono::seconds(1)) {
        counters_ = sets_.counters();
        counters_read_ = now;
    }
    auto it = counters_.find(static_cast<uint16_t>(id));
    if (it == counters_.end())
        return {};
    return {it->second.packets, it->second.bytes};
}

void KernelDenyLists::set_protected(std::vector<IpPrefix> prefixes) {
    std::sort(prefixes.begin(), prefixes.end(), prefix_less);
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    std::lock_guard lock(mutex_);
    if (prefixes == protected_)
        return;
    protected_ = std::move(prefixes);
    if (auto synced = sync_allow_locked(); !synced)
        spdlog::error("deny lists: the allow set could not follow the workloads: {}",
                      synced.error().to_string());
}

std::vector<IpPrefix> KernelDenyLists::protected_prefixes() const {
    std::lock_guard lock(mutex_);
    std::vector<IpPrefix> all = protected_;
    all.insert(all.end(), allow_prefixes_.begin(), allow_prefixes_.end());
    return all;
}

Status KernelDenyLists::sync_allow_locked() {
    std::vector<IpPrefix> allow = allow_prefixes_;
    for (const auto& [id, held] : lists_)
        if (held.spec.role == ListRole::allow)
            allow.insert(allow.end(), held.prefixes.begin(), held.prefixes.end());
    for (const auto& [id, held] : lists_)
        if (held.spec.role == ListRole::deny)
            for (const auto& overlap : denylist::overlaps(held.prefixes, protected_, SIZE_MAX))
                allow.push_back(overlap.protected_prefix);
    std::sort(allow.begin(), allow.end(), prefix_less);
    allow.erase(std::unique(allow.begin(), allow.end()), allow.end());
    if (allow == allow_in_kernel_)
        return {};
    if (auto set = sets_.set_allow(allow); !set)
        return set;
    allow_in_kernel_ = std::move(allow);
    return {};
}

size_t KernelDenyLists::allow_entries() const {
    std::lock_guard lock(mutex_);
    return allow_in_kernel_.size();
}

} // namespace flowwall::daemon
