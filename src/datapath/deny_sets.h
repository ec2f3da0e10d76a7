// SPDX-License-Identifier: Apache-2.0
// The deny lists in the kernel (abi.h "Deny lists", bpf/lib/deny.h): every listed prefix with
// the list that denies it in each direction, the allow set that wins over all of them, and
// the per-list counters. User space keeps the names; here a list is its id (1..255).
//
// Two ways to change the prefixes:
//  - replace(): a whole new generation (prefix hash, filter, lengths) built beside the live
//    one, then one flip. For a feed's first load and for large changes: nothing is edited or
//    freed in place, and filter bits nobody needs any more are gone afterwards.
//  - apply(): a diff made in the live generation, one atomic hash update per entry, puts
//    before erases: a prefix moving between lists or replaced by others is at every moment
//    in its old or its new state. For refreshes that change a little.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowwall/abi.h"
#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/datapath/typed_map.h"

namespace flowwall::datapath {

// The deny maps of one loaded object (PrefilterObject, FirewallObject). Objects pinned in the
// same directory share them; unpinned ones (tests, benchmarks) each have their own, and
// DenySets writes to all it is given.
struct DenyMaps {
    int control_fd = -1;  // fw_dctl_v1
    int prefixes_fd = -1; // fw_dpfx_v1 (outer)
    int filter_fd = -1;   // fw_dfilt_v1 (both generations, mmapable)
    int lengths_fd = -1;  // fw_dlens_v1 (both generations, mmapable)
    TypedMap<fw_cidr_key, uint32_t> allow;
    PerCpuArray<fw_counter_value> stats; // fw_dstats_v1, indexed by list id
};

// The deny maps of a loaded object (bpf/lib/deny.h); the error names a map abi.h and the
// object disagree on.
Result<DenyMaps> deny_maps_in(bpf_object* object);

inline constexpr uint16_t kMaxDenyListId = FW_DENY_MAX_LISTS - 1;

// Which list denies a prefix in each direction; 0: none. At least one is set.
struct DenyLists {
    uint16_t inbound = 0;  // as a source of what enters (XDP on uplinks, TC towards workloads)
    uint16_t outbound = 0; // as the destination of what a workload sends
    auto operator<=>(const DenyLists&) const = default;
};

struct DenyEntry {
    IpPrefix prefix;
    DenyLists lists;
};

// Every prefix once (merge_deny_lists in deny_snapshot.h builds one from lists).
struct DenySnapshot {
    std::vector<DenyEntry> entries;
};

struct DenyDiff {
    std::vector<DenyEntry> put;  // new prefixes, or new lists for known ones
    std::vector<IpPrefix> erase; // prefixes no list names any more
};

class DenySets {
public:
    // targets: the deny maps of each loaded object; maps seen twice (shared pins) are
    // written once. The arrays are mapped into memory on first use (errors come from there).
    explicit DenySets(std::vector<DenyMaps> targets);
    DenySets(DenySets&&) noexcept;
    DenySets& operator=(DenySets&&) noexcept;
    ~DenySets();

    // Builds a new generation holding exactly `snapshot` and makes it the live one; the old
    // one is freed by the kernel once no program uses it. Error (nothing changed): a list id
    // out of range, an entry with no list, a prefix twice, or the kernel refused a map.
    Status replace(const DenySnapshot& snapshot);

    // Changes the live generation by `diff` (puts, then erases). Without a live generation,
    // or when the puts do not fit its prefix hash, rebuilds one from the live entries and the
    // diff (as replace). Errors as replace.
    Status apply(const DenyDiff& diff);

    // The allow set becomes `prefixes` (new ones added before old ones go).
    Status set_allow(const std::vector<IpPrefix>& prefixes);
    std::vector<IpPrefix> allow() const;

    // The live generation's entry for exactly this prefix.
    std::optional<DenyLists> lookup(const IpPrefix& prefix) const;
    std::vector<DenyEntry> entries() const;
    std::size_t size() const;

    // Packets and bytes dropped per list id (lists that dropped nothing are left out), summed
    // over CPUs and objects.
    std::map<uint16_t, fw_counter_value> counters() const;
    Status reset_counters(uint16_t list);

    // Kernel memory of the live generation and the allow set (the maps' memlock, as
    // /proc/self/fdinfo reports it).
    uint64_t kernel_memory_bytes() const;

private:
    struct Target;
    struct Generation;
    Result<Generation> build(const std::vector<DenyEntry>& entries, std::size_t headroom) const;
    Status install(const Generation& generation, const std::vector<DenyEntry>& entries);
    Result<Generation> live() const;
    Status rebuild_with(const DenyDiff& diff);
    Status map_arrays();

    std::vector<std::unique_ptr<Target>> targets_;
};

// What the kernel charges for a map (fdinfo's `memlock`), 0 when it cannot be read.
uint64_t map_memory_bytes(int fd);

} // namespace flowwall::datapath
