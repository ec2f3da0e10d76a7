// SPDX-License-Identifier: Apache-2.0
// The deny lists' KernelLists over the datapath's DenySets: user space keeps lists by name,
// the kernel keeps one prefix table in which each prefix names at most one list per direction
// (the lowest id when several lists name the same prefix), and one allow set that wins.
//
// The allow set is: every allow list, the configured allow prefixes, and those protected
// addresses (workloads', the node's own) that a deny prefix covers. Only covered ones go in,
// so the set stays small however many workloads run, and it follows the workloads as they
// come and go (set_protected, from the node agent's thread).
#pragma once

#include "src/datapath/deny_sets.h"
#include "src/denylist/deny_lists.h"

#include <chrono>
#include <map>
#include <mutex>
#include <vector>

namespace flowwall::daemon {

class KernelDenyLists : public denylist::KernelLists {
public:
    KernelDenyLists(datapath::DenySets& sets, std::vector<IpPrefix> allow_prefixes);

    Status apply(uint32_t id, const denylist::ListSpec& spec, const std::vector<IpPrefix>& prefixes,
                 const denylist::PrefixDiff& diff) override;
    Status remove(uint32_t id, const denylist::ListSpec& spec,
                  const std::vector<IpPrefix>& prefixes) override;
    denylist::DropCounters counters(uint32_t id) const override;

    // Workload and node addresses; the allow set is brought in step when they change.
    void set_protected(std::vector<IpPrefix> prefixes);
    // What always wins: the configured allow prefixes and the protected addresses.
    std::vector<IpPrefix> protected_prefixes() const;

    size_t allow_entries() const;
    uint64_t kernel_memory_bytes() const { return sets_.kernel_memory_bytes(); }

private:
    struct Held {
        denylist::ListSpec spec;
        std::vector<IpPrefix> prefixes; // sorted (prefix_less)
    };
    datapath::DenyLists entry_locked(const IpPrefix& prefix) const;
    std::vector<datapath::DenyEntry> all_entries_locked() const;
    Status sync_allow_locked();

    datapath::DenySets& sets_;
    const std::vector<IpPrefix> allow_prefixes_;
    mutable std::mutex mutex_;
    std::map<uint32_t, Held> lists_;
    std::vector<IpPrefix> protected_; // sorted
    std::vector<IpPrefix> allow_in_kernel_;
    // Reading the per-CPU counters of 256 lists for every list of a view is wasteful: once
    // a second is enough for people and Prometheus.
    mutable std::map<uint16_t, fw_counter_value> counters_;
    mutable std::chrono::steady_clock::time_point counters_read_{};
};

} // namespace flowwall::daemon
