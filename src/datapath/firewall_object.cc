// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/firewall_object.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "firewall.skel.h"
#include "src/datapath/kernel_hz.h"
#include "src/datapath/object_loading.h"

namespace flowwall::datapath {
namespace {

struct SkeletonDeleter {
    void operator()(firewall_bpf* skeleton) const { firewall_bpf__destroy(skeleton); }
};
using SkeletonOwner = std::unique_ptr<firewall_bpf, SkeletonDeleter>;

Status set_capacity(bpf_map* map, uint32_t entries) {
    if (int err = bpf_map__set_max_entries(map, entries); err)
        return Error::from_errno(err, std::string("set capacity of ") + bpf_map__name(map));
    return {};
}

Status apply_capacities(firewall_bpf* skeleton, const FirewallCapacities& capacities) {
    auto& maps = skeleton->maps;
    for (auto [map, entries] : {std::pair{maps.fw_ipcache_v1, capacities.ipcache_entries},
                                {maps.fw_cidr_v1, capacities.cidr_entries},
                                {maps.fw_policy_v1, capacities.policy_entries},
                                {maps.fw_modes_v1, capacities.mode_entries},
                                {maps.fw_ct4_v1, capacities.conntrack_entries},
                                {maps.fw_ct6_v1, capacities.conntrack_entries},
                                {maps.fw_dedup_v1, capacities.dedup_entries},
                                {maps.fw_ifaces_v1, capacities.interface_entries},
                                {maps.fw_events_v1, capacities.event_buffer_bytes}}) {
        if (auto status = set_capacity(map, entries); !status)
            return status;
    }
    return {};
}

// abi.h names the maps for user space; bpf/lib/maps.h defines them. Both must agree, or
// pins and documentation would name maps that do not exist.
Status check_map_names(firewall_bpf* skeleton) {
    for (const char* name :
         {FW_MAP_IPCACHE, FW_MAP_CIDR, FW_MAP_POLICY, FW_MAP_MODES, FW_MAP_SETTINGS, FW_MAP_CT4,
          FW_MAP_CT6, FW_MAP_DEDUP, FW_MAP_EVENTS, FW_MAP_STATS, FW_MAP_IFACES, FW_MAP_IFSLOTS}) {
        if (bpf_object__find_map_by_name(skeleton->obj, name) == nullptr)
            return Error{EINVAL, std::string("abi.h names map ") + name +
                                     " but bpf/firewall.bpf.c has no such map: rebuild both"};
    }
    return {};
}

void log_migrations(const std::vector<MigrationOutcome>& outcomes) {
    for (const auto& outcome : outcomes) {
        if (outcome.converted)
            spdlog::info("maps: migrated {} entries of {} into {} and unpinned it", outcome.copied,
                         outcome.from, outcome.to);
        else
            spdlog::info("maps: unpinned {}, an older layout of {} with no migration; its "
                         "content is rebuilt",
                         outcome.from, outcome.to);
    }
}

} // namespace

std::vector<MapMigration> firewall_map_migrations() {
    return {};
}

Result<std::unique_ptr<FirewallObject>> FirewallObject::load(const FirewallOptions& options) {
    SkeletonOwner skeleton(firewall_bpf__open());
    if (!skeleton)
        return Error::from_errno(errno, "open firewall BPF object");

    if (auto status = check_map_names(skeleton.get()); !status)
        return status.error();
    if (auto status = apply_capacities(skeleton.get(), options.capacities); !status)
        return status.error();
    auto hz = kernel_hz();
    if (!hz)
        return hz.error();
    skeleton->rodata->fw_ct_timeout_jiffies = to_jiffies(options.conntrack_timeout, hz.value());
    skeleton->rodata->fw_dedup_interval_ns = options.event_dedup_interval.count();

    if (!options.pin_dir.empty()) {
        if (auto status = pin_maps_by_name(skeleton->obj, options.pin_dir); !status)
            return status.error();
    }
    if (auto status = load_object(skeleton->obj, "firewall (bpf/firewall.bpf.c)"); !status)
        return status.error();
    if (!options.pin_dir.empty()) {
        auto migrated = migrate_older_maps(skeleton->obj, options.pin_dir, options.migrations);
        if (!migrated)
            return migrated.error();
        log_migrations(migrated.value());
        if (auto status = pin_programs(skeleton->obj, options.pin_dir); !status)
            return status.error();
    }

    std::unique_ptr<FirewallObject> object(new FirewallObject(skeleton.release(), options));
    object->bind_maps();
    auto deny = deny_maps_in(object->skeleton_->obj);
    if (!deny)
        return deny.error();
    object->maps_.deny = std::move(deny).value();
    return object;
}

FirewallObject::FirewallObject(firewall_bpf* skeleton, FirewallOptions options)
    : skeleton_(skeleton), options_(std::move(options)) {}

FirewallObject::~FirewallObject() {
    firewall_bpf__destroy(skeleton_);
}

void FirewallObject::bind_maps() {
    auto& m = skeleton_->maps;
    maps_.ipcache = typed_view<fw_ipcache_key, fw_identity_info>(m.fw_ipcache_v1);
    maps_.cidr = typed_view<fw_cidr_key, fw_identity_info>(m.fw_cidr_v1);
    maps_.policy = typed_view<fw_policy_key, fw_policy_value>(m.fw_policy_v1);
    maps_.modes = typed_view<uint32_t, fw_mode_value>(m.fw_modes_v1);
    maps_.settings = typed_view<uint32_t, fw_settings>(m.fw_settings_v1);
    maps_.conntrack4 = typed_view<fw_ct4_key, fw_ct_value>(m.fw_ct4_v1);
    maps_.conntrack6 = typed_view<fw_ct6_key, fw_ct_value>(m.fw_ct6_v1);
    maps_.dedup = typed_view<fw_dedup_key, fw_dedup_value>(m.fw_dedup_v1);
    maps_.stats = PerCpuArray<fw_counter_value>(bpf_map__fd(m.fw_stats_v3), FW_MAP_STATS);
    maps_.events_fd = bpf_map__fd(m.fw_events_v1);
    maps_.ifaces = InterfaceMap(typed_view<fw_iface_key, fw_iface_info>(m.fw_ifaces_v1),
                                typed_view<uint32_t, fw_iface_slot>(m.fw_ifslots_v1));
}

int FirewallObject::program_fd(FirewallProgram program) const {
    switch (program) {
    case FirewallProgram::from_workload:
        return bpf_program__fd(skeleton_->progs.from_workload);
    case FirewallProgram::to_workload:
        return bpf_program__fd(skeleton_->progs.to_workload);
    }
    return -1;
}

Status FirewallObject::unpin() {
    if (options_.pin_dir.empty())
        return {};
    return unpin_object(skeleton_->obj, options_.pin_dir);
}

} // namespace flowwall::datapath
