// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/workload_table.h"

#include <tuple>

namespace flowwall::daemon {

bool WorkloadTable::replace_all(const std::string& source,
                                std::vector<identity::Workload> workloads) {
    std::map<std::string, identity::Workload> incoming;
    for (auto& workload : workloads) {
        workload.source = source;
        std::string key = workload.key;
        incoming.insert_or_assign(std::move(key), std::move(workload));
    }
    bool changed = false;
    for (auto it = workloads_.begin(); it != workloads_.end();) {
        if (it->second.source == source && !incoming.contains(it->first)) {
            it = workloads_.erase(it);
            changed = true;
        } else {
            ++it;
        }
    }
    for (auto& [key, workload] : incoming) {
        auto existing = workloads_.find(key);
        if (existing != workloads_.end() && existing->second == workload)
            continue;
        workloads_.insert_or_assign(key, std::move(workload));
        changed = true;
    }
    return changed;
}

bool WorkloadTable::upsert(identity::Workload workload) {
    auto existing = workloads_.find(workload.key);
    if (existing != workloads_.end() && existing->second == workload)
        return false;
    std::string key = workload.key;
    workloads_.insert_or_assign(std::move(key), std::move(workload));
    return true;
}

bool WorkloadTable::remove(const std::string& source, const std::string& key) {
    auto existing = workloads_.find(key);
    if (existing == workloads_.end() || existing->second.source != source)
        return false;
    workloads_.erase(existing);
    return true;
}

const identity::Workload* WorkloadTable::find(const std::string& key) const {
    auto it = workloads_.find(key);
    return it == workloads_.end() ? nullptr : &it->second;
}

std::map<IpAddress, const identity::Workload*> WorkloadTable::address_owners() const {
    std::map<IpAddress, const identity::Workload*> owners;
    for (const auto& [key, workload] : workloads_) {
        for (const auto& address : workload.addresses) {
            auto [it, inserted] = owners.try_emplace(address, &workload);
            if (inserted)
                continue;
            // Later start wins; the key breaks ties so the outcome never depends on map order.
            const identity::Workload* holder = it->second;
            if (std::tie(workload.started_ns, workload.key) >
                std::tie(holder->started_ns, holder->key))
                it->second = &workload;
        }
    }
    return owners;
}

} // namespace flowwall::daemon
