// SPDX-License-Identifier: Apache-2.0
// Keeps the kernel's ipcache equal to what the daemon wants it to be: writes only entries
// that differ from what the map holds, and removes entries nobody claims only when told
// that every source has listed its workloads (until then an entry left by the previous
// daemon may still be right, and dropping it would turn a workload into `world`).
#pragma once

#include "flowwall/abi.h"
#include "src/daemon/workload_table.h"
#include "src/datapath/typed_map.h"

#include <map>
#include <string>

namespace flowwall::daemon {

using IpcacheEntries = std::map<IpAddress, fw_identity_info>;

struct IpcacheOutcome {
    size_t written = 0;
    size_t removed = 0;
    std::string error; // the first failure (e.g. the map is full), empty if none
};

class IpcacheSync {
public:
    using Map = datapath::TypedMap<fw_ipcache_key, fw_identity_info>;
    // Reads what the map holds now (entries a previous daemon left).
    explicit IpcacheSync(Map map);

    IpcacheOutcome apply(const IpcacheEntries& desired, bool remove_unclaimed);
    size_t size() const { return applied_.size(); }
    uint32_t capacity() const { return map_.max_entries(); }

private:
    Map map_;
    IpcacheEntries applied_; // what the kernel map holds, as far as this daemon knows
};

} // namespace flowwall::daemon
