// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/tc_attachment.h"

#include "src/datapath/detach_failures.h"
#include "src/datapath/kernel_features.h"
#include "src/datapath/netlink_filters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <utility>

namespace flowwall::datapath {

namespace {

// BPF_LINK_TYPE_TCX in the Linux 6.6 uapi; the installed 6.1 headers end before it.
constexpr uint32_t kLinkTypeTcx = 11;

const char* hook_name(TcHook hook) {
    return hook == TcHook::ingress ? "ingress" : "egress";
}

bpf_attach_type tcx_attach_type(TcHook hook) {
    return hook == TcHook::ingress ? kAttachTcxIngress : kAttachTcxEgress;
}

std::string describe(const char* action, TcAttachMode mode, TcHook hook,
                     const InterfaceRef& iface) {
    return std::string(action) + (mode == TcAttachMode::tcx ? " tcx " : " clsact ") +
           hook_name(hook) + " on " + iface.to_string();
}

Error attach_error(int errnum, std::string what) {
    errnum = errnum < 0 ? -errnum : errnum;
    std::string hint;
    if (errnum == EPERM || errnum == EACCES)
        hint = ": run as root (needs CAP_NET_ADMIN and CAP_BPF)";
    else if (errnum == EBADF || errnum == EBADFD) // libbpf's tc API says EBADFD
        hint = ": the program fd is not open";
    else if (errnum == EINVAL)
        hint = ": is it a SCHED_CLS program? (tcx also needs Linux 6.6; else use clsact mode)";
    else if (errnum == EEXIST)
        hint = ": this program is attached to that hook already";
    else if (errnum == ENODEV)
        hint = ": the interface is gone";
    return Error::from_errno(errnum, std::move(what) + hint);
}

uint32_t clsact_parent(TcHook hook) {
    return hook == TcHook::ingress ? kClsactIngressParent : kClsactEgressParent;
}

} // namespace

TcAttachment::TcAttachment(InterfaceRef iface, TcHook hook, TcAttachMode mode, int ifindex)
    : interface_(std::move(iface)), hook_(hook), mode_(mode), ifindex_(ifindex) {}

TcAttachment::TcAttachment(TcAttachment&& other) noexcept
    : interface_(std::move(other.interface_)), hook_(other.hook_), mode_(other.mode_),
      ifindex_(other.ifindex_), link_(std::move(other.link_)),
      attached_(std::exchange(other.attached_, false)), keep_on_exit_(other.keep_on_exit_) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
    if (this == &other)
        return *this;
    release_on_destruction();
    interface_ = std::move(other.interface_);
    hook_ = other.hook_;
    mode_ = other.mode_;
    ifindex_ = other.ifindex_;
    link_ = std::move(other.link_);
    attached_ = std::exchange(other.attached_, false);
    keep_on_exit_ = other.keep_on_exit_;
    return *this;
}

TcAttachment::~TcAttachment() {
    release_on_destruction();
}

void TcAttachment::release_on_destruction() {
    if (!attached_ || keep_on_exit_)
        return; // a kept tcx link lives on through its pin once link_ closes
    Status status = detach();
    if (!status)
        record_detach_failure(status.error());
}

Result<TcAttachment> TcAttachment::attach(const InterfaceRef& iface, TcHook hook, int prog_fd,
                                          TcAttachMode mode,
                                          const std::filesystem::path& pin_path) {
    std::optional<TcAttachment> attachment;
    Status status = run_in_netns(iface.netns_path, [&]() -> Status {
        Result<int> ifindex = ifindex_in_entered_netns(iface);
        if (!ifindex)
            return ifindex.error();
        TcAttachMode chosen = mode;
        if (chosen == TcAttachMode::automatic) {
            Result<bool> has_tcx = probe_tcx();
            if (!has_tcx)
                return has_tcx.error();
            chosen = has_tcx.value() ? TcAttachMode::tcx : TcAttachMode::clsact;
        }
        attachment.emplace(TcAttachment(iface, hook, chosen, ifindex.value()));
        if (chosen == TcAttachMode::tcx)
            return attachment->attach_tcx(prog_fd, pin_path);
        if (!pin_path.empty())
            return Error{EINVAL, describe("attach", chosen, hook, iface) +
                                     ": clsact filters cannot be pinned; attach without a pin "
                                     "path (the filter outlives the daemon anyway)"};
        return attachment->attach_clsact(prog_fd);
    });
    if (!status)
        return status.error();
    return std::move(*attachment);
}

Status TcAttachment::attach_tcx(int prog_fd, const std::filesystem::path& pin_path) {
    const std::string what = describe("attach", mode_, hook_, interface_);
    if (!pin_path.empty()) {
        const LinkTarget expected{kLinkTypeTcx, static_cast<uint32_t>(ifindex_),
                                  tcx_attach_type(hook_)};
        auto adopted = OwnedLink::adopt(pin_path, expected, prog_fd);
        if (!adopted)
            return Error::from_errno(adopted.error().errnum, what + ": " + adopted.error().message);
        if (adopted.value()) {
            link_ = std::move(*adopted.value());
            attached_ = true;
            return {};
        }
    }
    UniqueFd link(::bpf_link_create(prog_fd, ifindex_, tcx_attach_type(hook_), nullptr));
    if (!link.valid())
        return attach_error(errno, what);
    Result<OwnedLink> owned = OwnedLink::own(std::move(link), pin_path);
    if (!owned)
        return Error::from_errno(owned.error().errnum, what + ": " + owned.error().message);
    link_ = std::move(owned.value());
    attached_ = true;
    return {};
}

Status TcAttachment::attach_clsact(int prog_fd) {
    Status status =
        attach_flowwall_filter(interface_.netns_path, ifindex_, clsact_parent(hook_), prog_fd);
    if (!status)
        return attach_error(status.error().errnum, describe("attach", mode_, hook_, interface_) +
                                                       ": " + status.error().message);
    attached_ = true;
    return {};
}

Status TcAttachment::replace_program(int prog_fd) {
    const std::string what = describe("replace program of", mode_, hook_, interface_);
    if (!attached_)
        return Error{ENOENT, what + ": not attached (detached or moved from)"};
    if (mode_ == TcAttachMode::tcx) {
        if (Status updated = link_.update(prog_fd); !updated)
            return attach_error(updated.error().errnum, what);
        return {};
    }
    return run_in_netns(interface_.netns_path, [&]() -> Status {
        Status status = replace_flowwall_filter_program(ifindex_, clsact_parent(hook_), prog_fd);
        if (!status)
            return attach_error(status.error().errnum, what + ": " + status.error().message);
        return {};
    });
}

Status TcAttachment::detach() {
    if (!attached_)
        return {};
    if (mode_ == TcAttachMode::clsact) {
        Status status = detach_clsact();
        if (!status)
            return status;
    } else {
        if (Status detached = link_.detach(); !detached)
            return Error::from_errno(detached.error().errnum,
                                     describe("detach", mode_, hook_, interface_) + ": " +
                                         detached.error().message);
    }
    attached_ = false;
    return {};
}

Status TcAttachment::detach_clsact() {
    const std::string what = describe("detach", mode_, hook_, interface_);
    Status status = run_in_netns(interface_.netns_path, [&]() -> Status {
        return detach_flowwall_filter(interface_.netns_path, ifindex_, clsact_parent(hook_));
    });
    if (!status && status.error().errnum == ENOENT && !interface_.netns_path.empty() &&
        !std::filesystem::exists(interface_.netns_path))
        return {}; // the namespace is gone, and everything in it
    if (!status)
        return attach_error(status.error().errnum, what + ": " + status.error().message);
    return {};
}

Status TcAttachment::keep_on_exit() {
    if (attached_ && mode_ == TcAttachMode::tcx && !link_.pinned())
        return Error{EINVAL, describe("keep", mode_, hook_, interface_) +
                                 " after exit: the link is not pinned and ends with this "
                                 "process; attach with a pin path"};
    keep_on_exit_ = true;
    return {};
}

Result<std::vector<uint32_t>> tcx_program_ids(const InterfaceRef& iface, TcHook hook) {
    std::vector<uint32_t> ids;
    Status status = run_in_netns(iface.netns_path, [&]() -> Status {
        Result<int> ifindex = ifindex_in_entered_netns(iface);
        if (!ifindex)
            return ifindex.error();
        // ENOSPC reports how many there are; a program attached meanwhile means one more round.
        for (uint32_t capacity = 16;;) {
            ids.resize(capacity);
            uint32_t count = capacity;
            int result = ::bpf_prog_query(ifindex.value(), tcx_attach_type(hook), 0, nullptr,
                                          ids.data(), &count);
            if (result == 0) {
                ids.resize(count);
                return {};
            }
            if (result != -ENOSPC)
                return attach_error(result, describe("query", TcAttachMode::tcx, hook, iface));
            capacity = count + 16;
        }
    });
    if (!status)
        return status.error();
    return ids;
}

} // namespace flowwall::datapath
