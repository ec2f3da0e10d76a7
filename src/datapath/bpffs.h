// SPDX-License-Identifier: Apache-2.0
// The BPF filesystem where flowwall pins its programs, maps and links, so that enforcement
// outlives the daemon and a new daemon finds the state the previous one left.
#pragma once

#include "src/common/result.h"
#include "src/common/unique_fd.h"

#include <filesystem>
#include <optional>

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

// Whether pins under dir outlive this process: they do when its bpffs is the very instance
// the host's init (PID 1) sees at the same path. They do not when this process runs in a
// private mount namespace with its own bpffs (`ip netns exec` mounts a new /sys; a container
// without the host's /sys/fs/bpf): that bpffs, and every pin on it, vanishes with the
// namespace, so enforcement would silently stop outliving the daemon. Call before
// ensure_bpffs_dir() (which would mount such a private bpffs). The error says how to share the
// host's bpffs. In the host's own mount namespace this always succeeds. Where PID 1's mount
// namespace cannot be seen (a sandbox's hidepid), a dir already on bpffs is accepted and a
// dir that would need a bpffs mounted is refused: only what is proven to be wrong, or would
// be a guess, stops start-up.
Status check_bpffs_is_hosts(const std::filesystem::path& dir);

// The same check with the views given: `own_root` is where this process sees "/" (in
// practice "/"), `host_root` where the host's "/" is visible ("/proc/1/root");
// same_mount_namespace is nullopt when unknown. For tests.
Status check_bpffs_is_hosts(const std::filesystem::path& dir, const std::filesystem::path& own_root,
                            const std::filesystem::path& host_root,
                            std::optional<bool> same_mount_namespace);

// Unpins everything below dir and removes the directories, dir included. A missing dir is
// fine. Refuses to touch a dir that is not on bpffs, so a wrong path can never delete files.
Status remove_pin_tree(const std::filesystem::path& dir);

// Pins a BPF object (program, map, link) at path; the parent directory must exist.
Status pin_object(int fd, const std::filesystem::path& path);

// Opens the object pinned at path. No pin there: an empty UniqueFd, not an error.
Result<UniqueFd> open_pinned_object(const std::filesystem::path& path);

} // namespace flowwall::datapath
