// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/bpffs.h"

#include <bpf/bpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <system_error>

namespace flowwall::datapath {

namespace {

// From <linux/magic.h>; spelled out so the check does not depend on the uapi headers' age.
constexpr long kBpffsMagic = 0xcafe4a11;

std::string root_hint(int errnum) {
    if (errnum == EPERM || errnum == EACCES)
        return ": run as root (needs CAP_SYS_ADMIN for mounts and CAP_BPF for pins)";
    return "";
}

// statfs() needs an existing path; a directory still to be created will be on the filesystem
// of its nearest existing ancestor.
std::filesystem::path nearest_existing(const std::filesystem::path& path) {
    std::filesystem::path candidate = path;
    std::error_code unknown_counts_as_missing;
    while (!candidate.empty() && !std::filesystem::exists(candidate, unknown_counts_as_missing)) {
        if (candidate == candidate.parent_path())
            break;
        candidate = candidate.parent_path();
    }
    return candidate;
}

bool is_under(const std::filesystem::path& path, const std::filesystem::path& base) {
    return std::mismatch(base.begin(), base.end(), path.begin(), path.end()).first == base.end();
}

Status mount_bpffs_if_absent() {
    if (is_bpffs(kBpffsMountPoint))
        return {};
    if (::mount("bpf", kBpffsMountPoint.c_str(), "bpf", 0, "mode=0700") != 0) {
        int errnum = errno;
        return Error::from_errno(errnum,
                                 "mount bpffs at " + kBpffsMountPoint.string() + root_hint(errnum));
    }
    return {};
}

Status make_dirs(const std::filesystem::path& dir) {
    std::filesystem::path partial;
    for (const auto& component : dir) {
        partial /= component;
        std::error_code not_there_yet;
        if (std::filesystem::is_directory(partial, not_there_yet))
            continue;
        if (::mkdir(partial.c_str(), 0700) == 0)
            continue;
        int errnum = errno;
        // EEXIST: created concurrently (another daemon instance starting), which is fine.
        if (errnum == EEXIST && std::filesystem::is_directory(partial, not_there_yet))
            continue;
        return Error::from_errno(errnum,
                                 "create bpffs directory " + partial.string() + root_hint(errnum));
    }
    return {};
}

Status remove_tree_below(const std::filesystem::path& dir) {
    std::error_code error;
    std::filesystem::directory_iterator entries(dir, error);
    if (error)
        return Error::from_errno(error.value(),
                                 "list pins in " + dir.string() + root_hint(error.value()));
    for (const auto& entry : entries) {
        // symlink_status: a symlink on bpffs is removed, never followed.
        if (std::filesystem::is_directory(entry.symlink_status())) {
            Status status = remove_tree_below(entry.path());
            if (!status)
                return status;
        } else if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) {
            int errnum = errno;
            return Error::from_errno(errnum, "unpin " + entry.path().string() + root_hint(errnum));
        }
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
        int errnum = errno;
        return Error::from_errno(errnum,
                                 "remove bpffs directory " + dir.string() + root_hint(errnum));
    }
    return {};
}

} // namespace

bool is_bpffs(const std::filesystem::path& path) {
    struct statfs info {};
    if (::statfs(nearest_existing(path).c_str(), &info) != 0)
        return false;
    return static_cast<long>(info.f_type) == kBpffsMagic;
}

Status ensure_bpffs_dir(const std::filesystem::path& dir) {
    std::filesystem::path absolute = dir.lexically_normal();
    if (!absolute.is_absolute())
        return Error{EINVAL, "bpffs directory " + dir.string() +
                                 " is relative: give an absolute path under " +
                                 kBpffsMountPoint.string()};
    if (is_under(absolute, kBpffsMountPoint)) {
        Status mounted = mount_bpffs_if_absent();
        if (!mounted)
            return mounted;
    }
    if (!is_bpffs(absolute))
        return Error{EINVAL, "bpffs directory " + absolute.string() +
                                 " is not on a bpffs mount: choose a directory under " +
                                 kBpffsMountPoint.string() + " or mount bpffs at its parent"};
    return make_dirs(absolute);
}

namespace {

Result<uint64_t> inode_of(const std::filesystem::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return Error::from_errno(errno, "stat " + path.string());
    return static_cast<uint64_t>(info.st_ino);
}

std::string share_hint(const std::filesystem::path& dir) {
    return ": its pins would vanish when flowwalld exits, and enforcement with them. Run "
           "flowwalld where it sees the host's bpffs: enter a network namespace with "
           "`nsenter --net=/run/netns/NAME` rather than `ip netns exec` (which mounts a new "
           "/sys without the host's bpffs); in a container, mount the host's /sys/fs/bpf "
           "(a DaemonSet: a hostPath volume for /sys/fs/bpf with mountPropagation: "
           "Bidirectional); or choose a --bpffs-dir on the host's bpffs. "
           "--allow-private-bpffs true starts anyway (the pins of " +
           dir.string() + " then die with this mount namespace)";
}

} // namespace

Status check_bpffs_is_hosts(const std::filesystem::path& dir) {
    auto own = inode_of("/proc/self/ns/mnt");
    auto host = inode_of("/proc/1/ns/mnt");
    std::optional<bool> same;
    if (own && host)
        same = own.value() == host.value();
    return check_bpffs_is_hosts(dir, "/", "/proc/1/root", same);
}

Status check_bpffs_is_hosts(const std::filesystem::path& dir, const std::filesystem::path& own_root,
                            const std::filesystem::path& host_root,
                            std::optional<bool> same_mount_namespace) {
    if (same_mount_namespace.value_or(false))
        return {};
    std::filesystem::path absolute = dir.lexically_normal();
    if (!absolute.is_absolute())
        return {}; // ensure_bpffs_dir() refuses it with its own message
    std::filesystem::path relative = absolute.relative_path();
    std::filesystem::path own_path = nearest_existing(own_root / relative);
    if (!is_bpffs(own_path))
        return Error{EXDEV, std::string(same_mount_namespace
                                            ? "flowwalld runs in a private mount namespace"
                                            : "flowwalld cannot tell whether it runs in the host's "
                                              "mount namespace (PID 1's is not visible)") +
                                ", and " + absolute.string() +
                                " is not on bpffs: a bpffs it mounted here might be one only this "
                                "namespace sees" +
                                share_hint(absolute)};
    if (!same_mount_namespace)
        return {}; // on bpffs, and nothing to compare it with: only what is proven is refused
    // Pins are the bpffs instance's, not the mount's: the same instance (one st_dev) seen from
    // the host's root is what makes them outlive this namespace.
    std::error_code error;
    std::filesystem::path suffix = std::filesystem::relative(own_path, own_root, error);
    std::filesystem::path host_path = host_root / suffix;
    struct stat own_info {};
    struct stat host_info {};
    if (::stat(own_path.c_str(), &own_info) != 0)
        return Error::from_errno(errno, "stat " + own_path.string());
    if (error || ::stat(host_path.c_str(), &host_info) != 0 || !is_bpffs(host_path) ||
        own_info.st_dev != host_info.st_dev)
        return Error{EXDEV, "the bpffs holding " + absolute.string() +
                                " is private to this mount namespace, not the host's" +
                                share_hint(absolute)};
    return {};
}

Status remove_pin_tree(const std::filesystem::path& dir) {
    std::error_code error;
    if (!std::filesystem::exists(std::filesystem::symlink_status(dir, error)))
        return {};
    if (!is_bpffs(dir))
        return Error{EINVAL, "refusing to remove " + dir.string() +
                                 ": it is not on bpffs, so it holds no pins"};
    return remove_tree_below(dir);
}

Status pin_object(int fd, const std::filesystem::path& path) {
    if (::bpf_obj_pin(fd, path.c_str()) != 0) {
        int errnum = errno;
        std::string hint = root_hint(errnum);
        if (errnum == EEXIST)
            hint = ": something is pinned there already; remove it or choose another path";
        else if (errnum == ENOENT)
            hint = ": the directory is missing; create it with ensure_bpffs_dir()";
        return Error::from_errno(errnum, "pin at " + path.string() + hint);
    }
    return {};
}

Result<UniqueFd> open_pinned_object(const std::filesystem::path& path) {
    int fd = ::bpf_obj_get(path.c_str());
    if (fd >= 0)
        return UniqueFd(fd);
    int errnum = errno;
    if (errnum == ENOENT)
        return UniqueFd();
    return Error::from_errno(errnum, "open pinned object " + path.string() + root_hint(errnum));
}

} // namespace flowwall::datapath
