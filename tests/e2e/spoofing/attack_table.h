// SPDX-License-Identifier: Apache-2.0
//
// How the spoofing tests run their attack tables: each attack first without flowwall, where it
// must get through (so the lab really reproduces it and the test can fail), then against
// flowwalld in block mode, where nothing may reach the target, the named counters must rise
// and, where promised, an audit record must name the packet's source and destination.
#pragma once

#include "tests/e2e/daemon/daemon_process.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace flowwall::testing {

struct Attack {
    std::string name;
    // Runs the attack once; true when anything reached the target's application socket (or,
    // for L2 and router tricks, the target's tables took the forged information).
    std::function<bool()> attempt;
    // Counters that rise when flowwall stops it: every one, or any one with any_counter.
    std::vector<std::string> counters;
    bool any_counter = false;
    // The audit record promised (empty: none is): its src_ip and dst_ip.
    std::string audit_src;
    std::string audit_dst;
    std::string audit_reason; // its "reason" ("spoofed", "blocked"); empty: any
    // Undoes what a successful attempt changed (addresses added, poisoned tables).
    std::function<void()> undo = [] {};
};

// Runs every attack without flowwall (each must get through), then `start_flowwall`, then
// every attack again (each must be stopped, counted and audited as its row says), reporting
// failures per attack through gtest.
void run_attack_table(const std::vector<Attack>& attacks,
                      const std::function<DaemonProcess&()>& start_flowwall);

// Packets counted under a datapath counter by its name ("spoofed", "blocked"), from the
// daemon's pinned stats map; throws when no counter has that name.
uint64_t datapath_counter(const DaemonProcess& daemon, const std::string& name);

// Records in the daemon's audit log from src_ip to dst_ip with `reason` (empty: any).
size_t audit_records(const DaemonProcess& daemon, const std::string& src_ip,
                     const std::string& dst_ip, const std::string& reason = "");

// True once the daemon's audit log holds more than `records_before` such records (waits up
// to 3 s: the event pump writes records a little after the drop).
bool audited(const DaemonProcess& daemon, const std::string& src_ip, const std::string& dst_ip,
             const std::string& reason = "", size_t records_before = 0);

} // namespace flowwall::testing
