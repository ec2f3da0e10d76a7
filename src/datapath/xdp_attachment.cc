// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/xdp_attachment.h"

#include "src/datapath/detach_failures.h"

#include "src/datapath/bpffs.h"

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <optional>
#include <utility>

namespace flowwall::datapath {

namespace {

const char* mode_name(XdpMode mode) {
    switch (mode) {
    case XdpMode::automatic:
        return "XDP";
    case XdpMode::native:
        return "native XDP";
    case XdpMode::generic:
        return "generic XDP";
    }
    return "XDP";
}

std::string describe(const char* action, XdpMode mode, const InterfaceRef& iface) {
    return std::string(action) + " " + mode_name(mode) + " on " + iface.to_string();
}

Error xdp_error(int errnum, std::string what) {
    errnum = errnum < 0 ? -errnum : errnum;
    std::string hint;
    if (errnum == EPERM || errnum == EACCES)
        hint = ": run as root (needs CAP_NET_ADMIN and CAP_BPF)";
    else if (errnum == EBADF)
        hint = ": the program fd is not open";
    else if (errnum == EBUSY || errnum == EEXIST)
        hint = ": another XDP program is attached there (check `ip link show`); flowwall does not "
               "replace programs it did not attach";
    else if (errnum == EOPNOTSUPP)
        hint = ": the driver has no native XDP; use generic mode";
    else if (errnum == EINVAL)
        hint = ": is it an XDP program? (XDP links need Linux 5.9)";
    else if (errnum == ENODEV)
        hint = ": the interface is gone";
    return Error::from_errno(errnum, std::move(what) + hint);
}

Result<XdpProgramIds> query_in_entered_netns(int ifindex) {
    bpf_xdp_query_opts query{};
    query.sz = sizeof(query);
    int result = ::bpf_xdp_query(ifindex, 0, &query);
    if (result != 0)
        return xdp_error(result, "query XDP programs of ifindex " + std::to_string(ifindex));
    return XdpProgramIds{query.drv_prog_id, query.skb_prog_id};
}

} // namespace

XdpAttachment::XdpAttachment(InterfaceRef iface, XdpMode mode, int ifindex)
    : interface_(std::move(iface)), mode_(mode), ifindex_(ifindex) {}

XdpAttachment::XdpAttachment(XdpAttachment&& other) noexcept
    : interface_(std::move(other.interface_)), mode_(other.mode_), ifindex_(other.ifindex_),
      link_(std::move(other.link_)), pin_path_(std::move(other.pin_path_)),
      attached_(std::exchange(other.attached_, false)), keep_on_exit_(other.keep_on_exit_) {}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& other) noexcept {
    if (this == &other)
        return *this;
    release_on_destruction();
    interface_ = std::move(other.interface_);
    mode_ = other.mode_;
    ifindex_ = other.ifindex_;
    link_ = std::move(other.link_);
    pin_path_ = std::move(other.pin_path_);
    attached_ = std::exchange(other.attached_, false);
    keep_on_exit_ = other.keep_on_exit_;
    return *this;
}

XdpAttachment::~XdpAttachment() {
    release_on_destruction();
}

void XdpAttachment::release_on_destruction() {
    if (!attached_ || keep_on_exit_)
        return; // a kept link lives on through its pin once link_ closes
    Status status = detach();
    if (!status)
        record_detach_failure(status.error());
}

Result<XdpAttachment> XdpAttachment::attach(const InterfaceRef& iface, int prog_fd, XdpMode mode,
                                            const std::filesystem::path& pin_path) {
    std::optional<XdpAttachment> attachment;
    Status status = run_in_netns(iface.netns_path, [&]() -> Status {
        Result<int> ifindex = ifindex_in_entered_netns(iface);
        if (!ifindex)
            return ifindex.error();
        attachment.emplace(XdpAttachment(iface, mode, ifindex.value()));
        bool adopted = false;
        if (!pin_path.empty()) {
            Status adopting = attachment->adopt_pinned(prog_fd, pin_path, adopted);
            if (!adopting || adopted)
                return adopting;
        }
        Status created = attachment->create_link(prog_fd);
        if (!created || pin_path.empty())
            return created;
        Status pinned = pin_object(attachment->link_.get(), pin_path);
        if (!pinned)
            return Error::from_errno(pinned.error().errnum, describe("attach", mode, iface) + ": " +
                                                                pinned.error().message);
        attachment->pin_path_ = pin_path;
        return {};
    });
    if (!status)
        return status.error();
    return std::move(*attachment);
}

Status XdpAttachment::adopt_pinned(int prog_fd, const std::filesystem::path& pin_path,
                                   bool& adopted) {
    const std::string what = describe("attach", mode_, interface_);
    Result<UniqueFd> pinned = open_pinned_object(pin_path);
    if (!pinned)
        return pinned.error();
    if (!pinned.value().valid())
        return {};
    bpf_link_info info{};
    uint32_t info_length = sizeof(info);
    if (::bpf_obj_get_info_by_fd(pinned.value().get(), &info, &info_length) != 0)
        return xdp_error(errno, what + ": inspect the link pinned at " + pin_path.string());
    bool is_xdp = info.type == BPF_LINK_TYPE_XDP;
    if (is_xdp && info.xdp.ifindex == static_cast<uint32_t>(ifindex_)) {
        if (::bpf_link_update(pinned.value().get(), prog_fd, nullptr) != 0)
            return xdp_error(errno, what + ": switch the pinned link at " + pin_path.string() +
                                        " to the new program");
        Result<XdpProgramIds> ids = query_in_entered_netns(ifindex_);
        if (!ids)
            return ids.error();
        mode_ = ids.value().generic != 0 ? XdpMode::generic : XdpMode::native;
        link_ = std::move(pinned.value());
        pin_path_ = pin_path;
        attached_ = true;
        adopted = true;
        return {};
    }
    // A link whose interface is gone (ifindex 0) is dead weight: replace it.
    if (!(is_xdp && info.xdp.ifindex == 0))
        return Error{EEXIST, what + ": " + pin_path.string() +
                                 " holds a link of another interface; unpin it (rm) or choose "
                                 "another pin path"};
    if (::unlink(pin_path.c_str()) != 0 && errno != ENOENT)
        return xdp_error(errno, what + ": unpin stale link " + pin_path.string());
    return {};
}

Status XdpAttachment::create_link(int prog_fd) {
    auto try_mode = [&](XdpMode mode) -> Result<UniqueFd> {
        bpf_link_create_opts opts{};
        opts.sz = sizeof(opts);
        opts.flags = mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
        UniqueFd link(::bpf_link_create(prog_fd, ifindex_, BPF_XDP, &opts));
        if (!link.valid())
            return xdp_error(errno, describe("attach", mode, interface_));
        return link;
    };
    XdpMode first = mode_ == XdpMode::generic ? XdpMode::generic : XdpMode::native;
    Result<UniqueFd> link = try_mode(first);
    if (!link && mode_ == XdpMode::automatic && link.error().errnum == EOPNOTSUPP) {
        first = XdpMode::generic;
        link = try_mode(first);
    }
    if (!link)
        return link.error();
    link_ = std::move(link.value());
    mode_ = first;
    attached_ = true;
    return {};
}

Status XdpAttachment::replace_program(int prog_fd) {
    const std::string what = describe("replace program of", mode_, interface_);
    if (!attached_)
        return Error{ENOENT, what + ": not attached (detached or moved from)"};
    if (::bpf_link_update(link_.get(), prog_fd, nullptr) != 0)
        return xdp_error(errno, what);
    return {};
}

Status XdpAttachment::detach() {
    if (!attached_)
        return {};
    const std::string what = describe("detach", mode_, interface_);
    // bpf_link_detach, not just close: a pin or another process may hold the link too.
    if (::bpf_link_detach(link_.get()) != 0 && errno != ENOLINK)
        return xdp_error(errno, what);
    if (!pin_path_.empty() && ::unlink(pin_path_.c_str()) != 0 && errno != ENOENT)
        return xdp_error(errno, what + ": unpin " + pin_path_.string());
    link_.reset();
    attached_ = false;
    return {};
}

Status XdpAttachment::keep_on_exit() {
    if (attached_ && pin_path_.empty())
        return Error{EINVAL, describe("keep", mode_, interface_) +
                                 " after exit: the link is not pinned and ends with this "
                                 "process; attach with a pin path"};
    keep_on_exit_ = true;
    return {};
}

Result<XdpProgramIds> xdp_program_ids(const InterfaceRef& iface) {
    XdpProgramIds ids;
    Status status = run_in_netns(iface.netns_path, [&]() -> Status {
        Result<int> ifindex = ifindex_in_entered_netns(iface);
        if (!ifindex)
            return ifindex.error();
        Result<XdpProgramIds> found = query_in_entered_netns(ifindex.value());
        if (!found)
            return found.error();
        ids = found.value();
        return {};
    });
    if (!status)
        return status.error();
    return ids;
}

} // namespace flowwall::datapath
