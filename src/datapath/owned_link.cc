// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/owned_link.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/datapath/bpffs.h"

namespace flowwall::datapath {
namespace {

Error link_error(int errnum, std::string what) {
    errnum = errnum < 0 ? -errnum : errnum;
    if (errnum == EPERM || errnum == EACCES)
        what += ": run as root (needs CAP_NET_ADMIN and CAP_BPF)";
    return Error::from_errno(errnum, std::move(what));
}

// The union in bpf_link_info starts with the interface for both XDP and tcx links (tcx,
// Linux 6.6, is missing from the installed 6.1 headers: {ifindex, attach_type}).
Result<LinkTarget> read_target(int link_fd, const std::filesystem::path& pin_path) {
    bpf_link_info info{};
    uint32_t length = sizeof(info);
    if (::bpf_obj_get_info_by_fd(link_fd, &info, &length) != 0)
        return link_error(errno, "inspect the link pinned at " + pin_path.string());
    uint32_t words[2];
    std::memcpy(words, &info.xdp, sizeof(words));
    return LinkTarget{info.type, words[0], words[1]};
}

} // namespace

Result<std::optional<OwnedLink>> OwnedLink::adopt(const std::filesystem::path& pin_path,
                                                  const LinkTarget& expected, int prog_fd) {
    Result<UniqueFd> pinned = open_pinned_object(pin_path);
    if (!pinned)
        return pinned.error();
    if (!pinned.value().valid())
        return std::optional<OwnedLink>();
    Result<LinkTarget> found = read_target(pinned.value().get(), pin_path);
    if (!found)
        return found.error();

    const bool same_hook =
        found.value().type == expected.type && found.value().attach_type == expected.attach_type;
    if (same_hook && found.value().ifindex == expected.ifindex) {
        if (::bpf_link_update(pinned.value().get(), prog_fd, nullptr) != 0)
            return link_error(errno, "switch the pinned link at " + pin_path.string() +
                                         " to the new program");
        return std::optional(OwnedLink(std::move(pinned.value()), pin_path));
    }
    // A link whose interface is gone (ifindex 0) is dead weight: replace it.
    if (!(same_hook && found.value().ifindex == 0))
        return Error{EEXIST, pin_path.string() + " holds a link of another interface or hook; "
                                                 "unpin it (rm) or choose another pin path"};
    if (::unlink(pin_path.c_str()) != 0 && errno != ENOENT)
        return link_error(errno, "unpin stale link " + pin_path.string());
    return std::optional<OwnedLink>();
}

Result<OwnedLink> OwnedLink::own(UniqueFd link, const std::filesystem::path& pin_path) {
    if (!pin_path.empty()) {
        if (Status pinned = pin_object(link.get(), pin_path); !pinned)
            return pinned.error();
    }
    return OwnedLink(std::move(link), pin_path);
}

Status OwnedLink::update(int prog_fd) {
    if (::bpf_link_update(fd_.get(), prog_fd, nullptr) != 0)
        return link_error(errno, "update link");
    return {};
}

Status OwnedLink::detach() {
    // bpf_link_detach, not just close: a pin or another process may hold the link too.
    if (::bpf_link_detach(fd_.get()) != 0 && errno != ENOLINK)
        return link_error(errno, "detach link");
    if (!pin_path_.empty() && ::unlink(pin_path_.c_str()) != 0 && errno != ENOENT)
        return link_error(errno, "unpin " + pin_path_.string());
    fd_.reset();
    pin_path_.clear();
    return {};
}

Status detach_pinned_link(const std::filesystem::path& pin_path) {
    Result<UniqueFd> pinned = open_pinned_object(pin_path);
    if (!pinned)
        return pinned.error();
    if (!pinned.value().valid())
        return {};
    // A link whose interface is gone is already detached: EINVAL/ENOLINK then mean done.
    if (::bpf_link_detach(pinned.value().get()) != 0 && errno != EINVAL && errno != ENOLINK)
        return link_error(errno, "detach the link pinned at " + pin_path.string());
    if (::unlink(pin_path.c_str()) != 0 && errno != ENOENT)
        return link_error(errno, "unpin " + pin_path.string());
    return {};
}

} // namespace flowwall::datapath
