// SPDX-License-Identifier: Apache-2.0
// Steps every flowwall BPF object goes through between open and load, shared by the
// firewall and the prefilter objects.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "src/common/result.h"

namespace flowwall::datapath {

// Points every map at <pin_dir>/<map name>: libbpf then reuses a pinned map whose layout
// matches, or creates and pins a new one. A pinned map of the same name with another
// layout fails the load with a message that says so.
Status pin_maps_by_name(bpf_object* object, const std::filesystem::path& pin_dir);

// Loads (verifies) the object; a rejection carries the tail of the verifier log.
Status load_object(bpf_object* object, const std::string& what);

// Pins each program at <pin_dir>/programs/<program name>, replacing an older pin.
Status pin_programs(bpf_object* object, const std::filesystem::path& pin_dir);

// DESIGN: map names carry a layout version (fw_policy_v1) and a layout change bumps it and
// migrates. A migration says how an entry of an older pinned map becomes an entry of the
// current one.
struct MapMigration {
    using Bytes = std::vector<uint8_t>;
    std::string family;    // the map's name without "_v<N>": "fw_policy"
    uint32_t from_version; // the older layout it reads
    // One entry of the older map (its own key and value sizes) -> the entry to put in the
    // current map, or nullopt to leave it out.
    std::function<std::optional<std::pair<Bytes, Bytes>>(std::span<const uint8_t> key,
                                                         std::span<const uint8_t> value)>
        convert;
};

struct MigrationOutcome {
    std::string from; // "fw_policy_v0"
    std::string to;   // "fw_policy_v1"
    size_t copied = 0;
    bool converted = false; // false: no migration for it, dropped (user space rebuilds it)
};

// After load: every pin "<family>_v<M>" under pin_dir older than the object's map
// "<family>_v<N>" (M < N) was left by an older build. Entries of the ones a migration
// converts are copied into the current map without replacing entries it has (an interrupted
// migration just runs again), then each older pin is removed, converted or not: the maps
// user space fills (ipcache, policy, modes) are rebuilt anyway, and a stale pin would keep
// its memory for ever. Newer versions (a downgrade) are left alone. A copy that fails (the
// current map is full) keeps the older pin and fails, so nothing is lost silently.
Result<std::vector<MigrationOutcome>> migrate_older_maps(bpf_object* object,
                                                         const std::filesystem::path& pin_dir,
                                                         std::span<const MapMigration> migrations);

// "fw_policy_v1" -> {"fw_policy", 1}; nullopt for a name without a version suffix.
std::optional<std::pair<std::string, uint32_t>> split_map_version(const std::string& name);

// Removes the pins this object's maps and programs have under pin_dir.
Status unpin_object(bpf_object* object, const std::filesystem::path& pin_dir);

// The kernel's id of the loaded program behind prog_fd (as bpftool and status show it);
// 0 when the fd is not a program.
uint32_t program_id(int prog_fd);

} // namespace flowwall::datapath
