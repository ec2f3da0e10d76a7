// SPDX-License-Identifier: Apache-2.0
// The BPF filesystem where flowwall pins its programs, maps and links, so that enforcement
// outlives the daemon and a new daemon finds the state the previous one left.
#pragma once

#include "src/common/result.h"
#include "src/common/unique_fd.h"

#include <filesystem>

namespace flowwall::datapath {

// Where the kernel expects bpffs to be mounted.
inline const std::filesystem::path kBpffsMountPoint = "/sys/fs/bpf";

// True when path (or, if it does not exist yet, its nearest existing ancestor) lies on a
// bpffs mount.
bool is_bpffs(const std::filesystem::path& path);

// Makes dir (and its parents, mode 0700) on bpffs. If dir is under /sys/fs/bpf and nothing is
// mounted there yet, mounts bpffs there first (mode=0700). Fails with a clear message when not
// root or when dir would not be on bpffs.
Status ensure_bpffs_dir(const std::filesystem::path& dir);

// Unpins everything below dir and removes the directories, dir included. A missing dir is
// fine. Refuses to touch a dir that is not on bpffs, so a wrong path can never delete files.
Status remove_pin_tree(const std::filesystem::path& dir);

// Pins a BPF object (program, map, link) at path; the parent directory must exist.
Status pin_object(int fd, const std::filesystem::path& path);

// Opens the object pinned at path. No pin there: an empty UniqueFd, not an error.
Result<UniqueFd> open_pinned_object(const std::filesystem::path& path);

} // namespace flowwall::datapath
