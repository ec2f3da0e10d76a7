// SPDX-License-Identifier: Apache-2.0
// Steps every flowwall BPF object goes through between open and load, shared by the
// firewall and the prefilter objects.
#pragma once

#include <bpf/libbpf.h>

#include <filesystem>
#include <string>

#include "src/datapath/result.h"

namespace flowwall::datapath {

// Points every map at <pin_dir>/<map name>: libbpf then reuses a pinned map whose layout
// matches, or creates and pins a new one. A pinned map of the same name with another
// layout fails the load with a message that says so.
Status pin_maps_by_name(bpf_object* object, const std::filesystem::path& pin_dir);

// Loads (verifies) the object; a rejection carries the tail of the verifier log.
Status load_object(bpf_object* object, const std::string& what);

// Pins each program at <pin_dir>/programs/<program name>, replacing an older pin.
Status pin_programs(bpf_object* object, const std::filesystem::path& pin_dir);

// Removes the pins this object's maps and programs have under pin_dir.
Status unpin_object(bpf_object* object, const std::filesystem::path& pin_dir);

// The kernel's id of the loaded program behind prog_fd (as bpftool and status show it);
// 0 when the fd is not a program.
uint32_t program_id(int prog_fd);

} // namespace flowwall::datapath
