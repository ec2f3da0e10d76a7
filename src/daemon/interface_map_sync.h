// SPDX-License-Identifier: Apache-2.0
// Keeps fw_ifaces_v1 equal to what the daemon wants, as IpcacheSync does for the ipcache:
// writes only entries that differ from what the map holds, and removes entries of interfaces
// no longer guarded only when told that every source has listed its workloads (until then an
// entry a previous daemon left may still describe a live workload).
#pragma once

#include "src/datapath/interface_map.h"

#include <map>
#include <string>

namespace flowwall::daemon {

using InterfaceEntries = std::map<datapath::InterfaceKey, datapath::InterfaceWorkload>;

struct InterfaceMapOutcome {
    size_t written = 0;
    size_t removed = 0;
    std::string error; // the first failure (e.g. the map is full), empty if none
};

class InterfaceMapSync {
public:
    // Reads what the map holds now (entries a previous daemon left).
    explicit InterfaceMapSync(datapath::InterfaceMap map);

    InterfaceMapOutcome apply(const InterfaceEntries& desired, bool remove_unclaimed);
    // What the map holds, as far as this daemon knows.
    const InterfaceEntries& applied() const { return applied_; }

private:
    datapath::InterfaceMap map_;
    InterfaceEntries applied_;
};

} // namespace flowwall::daemon
