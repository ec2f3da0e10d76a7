// SPDX-License-Identifier: Apache-2.0
// Owner of the TC firewall object (bpf/firewall.bpf.c): opens the skeleton, applies the
// load-time settings, reuses or pins the maps, loads, and hands out typed views of the
// maps and the program fds. Destroying it unloads everything that is not pinned or
// attached.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <vector>

#include "flowwall/abi.h"
#include "src/common/result.h"
#include "src/datapath/counters.h"
#include "src/datapath/deny_sets.h"
#include "src/datapath/interface_map.h"
#include "src/datapath/object_loading.h"
#include "src/datapath/typed_map.h"

struct firewall_bpf;

namespace flowwall::datapath {

struct FirewallCapacities {
    uint32_t ipcache_entries = FW_DEFAULT_IPCACHE_ENTRIES;
    uint32_t cidr_entries = FW_DEFAULT_CIDR_ENTRIES;
    uint32_t policy_entries = FW_DEFAULT_POLICY_ENTRIES;
    uint32_t mode_entries = FW_DEFAULT_MODES_ENTRIES;
    uint32_t conntrack_entries = FW_DEFAULT_CT_ENTRIES; // each family
    uint32_t dedup_entries = FW_DEFAULT_DEDUP_ENTRIES;
    uint32_t interface_entries = FW_DEFAULT_IFACES_ENTRIES; // guarded interfaces, all netns
    uint32_t event_buffer_bytes = FW_DEFAULT_EVENTS_BYTES;  // power of two, >= page size
};

// How pinned maps of older layouts become the current ones (object_loading.h). Empty while
// every map is at its first layout: a layout change bumps the map's version in abi.h and
// adds its conversion here; without one, the older map is dropped and rebuilt by user space.
std::vector<MapMigration> firewall_map_migrations();

struct FirewallOptions {
    // Where maps and programs are pinned; empty: nothing is pinned (tests, benchmarks).
    std::filesystem::path pin_dir;
    FirewallCapacities capacities;
    // Idle time after which a UDP/ICMP flow is forgotten (TCP is not tracked).
    std::chrono::nanoseconds conntrack_timeout = std::chrono::seconds(60);
    // At most one event per (flow, kind) in this interval.
    std::chrono::nanoseconds event_dedup_interval = std::chrono::seconds(5);
    // Applied to older pins in pin_dir after load.
    std::vector<MapMigration> migrations = firewall_map_migrations();
};

enum class FirewallProgram { from_workload, to_workload };

struct FirewallMaps {
    TypedMap<fw_ipcache_key, fw_identity_info> ipcache;
    TypedMap<fw_cidr_key, fw_identity_info> cidr;
    TypedMap<fw_policy_key, fw_policy_value> policy;
    TypedMap<uint32_t, fw_mode_value> modes;
    TypedMap<uint32_t, fw_settings> settings;
    TypedMap<fw_ct4_key, fw_ct_value> conntrack4;
    TypedMap<fw_ct6_key, fw_ct_value> conntrack6;
    TypedMap<fw_dedup_key, fw_dedup_value> dedup;
    PerCpuArray<fw_counter_value> stats;
    int events_fd = -1;  // ring buffer of fw_event: read it with EventReader
    InterfaceMap ifaces; // guarded interface -> the workload behind it
    DenyMaps deny;       // shared with the prefilter object when both are pinned in one directory
};

class FirewallObject {
public:
    static Result<std::unique_ptr<FirewallObject>> load(const FirewallOptions& options);
    ~FirewallObject();
    FirewallObject(const FirewallObject&) = delete;
    FirewallObject& operator=(const FirewallObject&) = delete;

    int program_fd(FirewallProgram program) const;
    FirewallMaps& maps() { return maps_; }
    const FirewallMaps& maps() const { return maps_; }
    const FirewallOptions& options() const { return options_; }

    // Removes this object's pins (maps and programs) from options().pin_dir.
    Status unpin();

private:
    FirewallObject(firewall_bpf* skeleton, FirewallOptions options);
    void bind_maps();

    firewall_bpf* skeleton_;
    FirewallOptions options_;
    FirewallMaps maps_;
};

} // namespace flowwall::datapath
