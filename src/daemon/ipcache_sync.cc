// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/ipcache_sync.h"

#include "src/datapath/map_keys.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace flowwall::daemon {

IpcacheSync::IpcacheSync(Map map) : map_(std::move(map)) {
    for (const auto& [key, value] : map_.entries()) {
        IpAddress address = datapath::address_of(key.family, key.addr);
        applied_.emplace(address, value);
    }
}

IpcacheOutcome IpcacheSync::apply(const IpcacheEntries& desired, bool remove_unclaimed) {
    IpcacheOutcome outcome;
    auto note_failure = [&](const Error& error) {
        if (outcome.error.empty())
            outcome.error = error.to_string();
    };
    // Removals first, so that a full map has room for the new entries.
    if (remove_unclaimed) {
        std::vector<IpAddress> unclaimed;
        for (const auto& [address, value] : applied_)
            if (!desired.contains(address))
                unclaimed.push_back(address);
        for (const auto& address : unclaimed) {
            if (auto erased = map_.erase(datapath::ipcache_key(address)); !erased) {
                note_failure(erased.error());
                continue;
            }
            applied_.erase(address);
            ++outcome.removed;
            spdlog::debug("ipcache: {} removed", address.to_string());
        }
    }
    for (const auto& [address, value] : desired) {
        auto current = applied_.find(address);
        if (current != applied_.end() && current->second.identity == value.identity &&
            current->second.flags == value.flags)
            continue;
        if (auto updated = map_.update(datapath::ipcache_key(address), value); !updated) {
            note_failure(updated.error());
            continue;
        }
        applied_.insert_or_assign(address, value);
        ++outcome.written;
        spdlog::debug("ipcache: {} -> identity {}", address.to_string(), value.identity);
    }
    if (!outcome.error.empty())
        spdlog::error("ipcache: {}", outcome.error);
    return outcome;
}

} // namespace flowwall::daemon
