// SPDX-License-Identifier: Apache-2.0
// Every workload the sources report, and who owns each address. Pure bookkeeping: no I/O,
// no maps, so the ordering rules are unit-tested on their own.
//
// Address ownership is level-triggered: it is recomputed from the current records, never
// patched per event. Runtimes free an address and hand it to a new workload faster than
// their events arrive in order (a "start" of the new owner can come before the "die" of the
// old one, and a "die" can be lost), so the rule must not depend on event order: when two
// workloads claim one address, the one that started later owns it.
#pragma once

#include "src/common/ip_address.h"
#include "src/identity/workload.h"

#include <map>
#include <string>
#include <vector>

namespace flowwall::daemon {

class WorkloadTable {
public:
    // The three ways sources report (workload_source.h). Each returns whether anything
    // changed, so the caller reconciles only when needed.
    bool replace_all(const std::string& source, std::vector<identity::Workload> workloads);
    bool upsert(identity::Workload workload);
    bool remove(const std::string& source, const std::string& key);

    const std::map<std::string, identity::Workload>& workloads() const { return workloads_; }
    const identity::Workload* find(const std::string& key) const;

    // Each claimed address and the workload that owns it (a pointer into workloads()).
    std::map<IpAddress, const identity::Workload*> address_owners() const;

private:
    std::map<std::string, identity::Workload> workloads_; // by key
};

} // namespace flowwall::daemon
