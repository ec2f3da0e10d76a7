// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/bpffs.h"

#include <bpf/bpf.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
