// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/interface_map_sync.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace flowwall::daemon {

namespace {
std::string describe(const datapath::InterfaceKey& key) {
    return "ifindex " + std::to_string(key.ifindex) + " of netns cookie " +
           std::to_string(key.netns_cookie);
}
} // namespace

InterfaceMapSync::InterfaceMapSync(datapath::InterfaceMap map) : map_(std::move(map)) {
    for (auto& [key, workload] : map_.entries())
        applied_.emplace(key, std::move(workload));
}

InterfaceMapOutcome InterfaceMapSync::apply(const InterfaceEntries& desired,
                                            bool remove_unclaimed) {
    InterfaceMapOutcome outcome;
    auto note_failure = [&](const Error& error) {
        if (outcome.error.empty())
            outcome.error = error.to_string();
    };
    // Removals first, so that a full map has room for the new entries.
    if (remove_unclaimed) {
        std::vector<datapath::InterfaceKey> unclaimed;
        for (const auto& [key, workload] : applied_)
            if (!desired.contains(key))
                unclaimed.push_back(key);
        for (const auto& key : unclaimed) {
            if (auto erased = map_.erase(key); !erased) {
                note_failure(erased.error());
                continue;
            }
            applied_.erase(key);
            ++outcome.removed;
            spdlog::debug("interface map: {} removed", describe(key));
        }
    }
    for (const auto& [key, workload] : desired) {
        auto current = applied_.find(key);
        if (current != applied_.end() && current->second == workload)
            continue;
        if (auto put = map_.put(key, workload); !put) {
            note_failure(put.error());
            continue;
        }
        applied_.insert_or_assign(key, workload);
        ++outcome.written;
        spdlog::debug("interface map: {} -> identity {}, {} addresses", describe(key),
                      workload.identity, workload.addresses.size());
    }
    if (!outcome.error.empty())
        spdlog::error("interface map: {}", outcome.error);
    return outcome;
}

} // namespace flowwall::daemon
