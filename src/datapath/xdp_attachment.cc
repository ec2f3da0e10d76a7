// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/xdp_attachment.h"

#include "src/datapath/detach_failures.h"

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
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
      link_(std::move(other.link_)), attached_(std::exchange(other.attached_, false)),
      keep_on_exit_(other.keep_on_exit_) {}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& other) noexcept {
    if (this == &other)
        return *this;
    release_on_destruction();
    interface_ = std::move(other.interface_);
    mode_ = other.mode_;
    ifindex_ = other.ifindex_;
    link_ = std::move(other.link_);
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
        return attachment->attach_link(prog_fd, pin_path);
    });
    if (!status)
        return status.error();
    return std::move(*attachment);
}

Status XdpAttachment::attach_link(int prog_fd, const std::filesystem::path& pin_path) {
    const std::string what = describe("attach", mode_, interface_);
    if (!pin_path.empty()) {
        auto adopted = OwnedLink::adopt(
            pin_path, {BPF_LINK_TYPE_XDP, static_cast<uint32_t>(ifindex_), 0}, prog_fd);
        if (!adopted)
            return Error::from_errno(adopted.error().errnum, what + ": " + adopted.error().message);
        if (adopted.value()) {
            Result<XdpProgramIds> ids = query_in_entered_netns(ifindex_);
            if (!ids)
                return ids.error();
            mode_ = ids.value().generic != 0 ? XdpMode::generic : XdpMode::native;
            link_ = std::move(*adopted.value());
            attached_ = true;
            return {};
        }
    }
    XdpMode chosen = mode_ == XdpMode::generic ? XdpMode::generic : XdpMode::native;
    Result<UniqueFd> link = create_link(prog_fd, chosen);
    if (!link && mode_ == XdpMode::automatic && link.error().errnum == EOPNOTSUPP) {
        chosen = XdpMode::generic;
        link = create_link(prog_fd, chosen);
    }
    if (!link)
        return link.error();
    Result<OwnedLink> owned = OwnedLink::own(std::move(link.value()), pin_path);
    if (!owned)
        return Error::from_errno(owned.error().errnum, describe("attach", chosen, interface_) +
                                                           ": " + owned.error().message);
    link_ = std::move(owned.value());
    mode_ = chosen;
    attached_ = true;
    return {};
}

Result<UniqueFd> XdpAttachment::create_link(int prog_fd, XdpMode mode) {
    bpf_link_create_opts opts{};
    opts.sz = sizeof(opts);
    opts.flags = mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    UniqueFd link(::bpf_link_create(prog_fd, ifindex_, BPF_XDP, &opts));
    if (!link.valid())
        return xdp_error(errno, describe("attach", mode, interface_));
    return link;
}

Status XdpAttachment::replace_program(int prog_fd) {
    const std::string what = describe("replace program of", mode_, interface_);
    if (!attached_)
        return Error{ENOENT, what + ": not attached (detached or moved from)"};
    if (Status updated = link_.update(prog_fd); !updated)
        return xdp_error(updated.error().errnum, what);
    return {};
}

Status XdpAttachment::detach() {
    if (!attached_)
        return {};
    if (Status detached = link_.detach(); !detached)
        return Error::from_errno(detached.error().errnum, describe("detach", mode_, interface_) +
                                                              ": " + detached.error().message);
    attached_ = false;
    return {};
}

Status XdpAttachment::keep_on_exit() {
    if (attached_ && !link_.pinned())
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
