// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/tc_attachment.h"

#include "src/datapath/detach_failures.h"

#include "src/datapath/bpffs.h"
#include "src/datapath/kernel_features.h"
#include "src/datapath/netlink_filters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>

namespace flowwall::datapath {

namespace {

// BPF_LINK_TYPE_TCX in the Linux 6.6 uapi; the installed 6.1 headers end before it.
constexpr uint32_t kLinkTypeTcx = 11;

// The tcx member of bpf_link_info's union (Linux 6.6), absent from the 6.1 headers.
struct TcxLinkInfo {
    uint32_t ifindex; // 0 once the interface is gone
    uint32_t attach_type;
};

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
      pin_path_(std::move(other.pin_path_)), attached_(std::exchange(other.attached_, false)),
      keep_on_exit_(other.keep_on_exit_) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& other) noexcept {
    if (this == &other)
        return *this;
    release_on_destruction();
    interface_ = std::move(other.interface_);
    hook_ = other.hook_;
    mode_ = other.mode_;
    ifindex_ = other.ifindex_;
    link_ = std::move(other.link_);
    pin_path_ = std::move(other.pin_path_);
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
        Result<UniqueFd> pinned = open_pinned_object(pin_path);
        if (!pinned)
            return pinned.error();
        if (pinned.value().valid()) {
            bpf_link_info info{};
            uint32_t info_length = sizeof(info);
            if (::bpf_obj_get_info_by_fd(pinned.value().get(), &info, &info_length) != 0)
                return attach_error(errno,
                                    what + ": inspect the link pinned at " + pin_path.string());
            TcxLinkInfo tcx{};
            std::memcpy(&tcx, &info.xdp, sizeof(tcx));
            bool same_hook = info.type == kLinkTypeTcx && tcx.attach_type == tcx_attach_type(hook_);
            if (same_hook && tcx.ifindex == static_cast<uint32_t>(ifindex_)) {
                if (::bpf_link_update(pinned.value().get(), prog_fd, nullptr) != 0)
                    return attach_error(errno, what + ": switch the pinned link at " +
                                                   pin_path.string() + " to the new program");
                link_ = std::move(pinned.value());
                pin_path_ = pin_path;
                attached_ = true;
                return {};
            }
            // A link whose interface is gone (ifindex 0) is dead weight: replace it.
            if (!(same_hook && tcx.ifindex == 0))
                return Error{EEXIST, what + ": " + pin_path.string() +
                                         " holds a link of another interface or hook; unpin "
                                         "it (rm) or choose another pin path"};
            if (::unlink(pin_path.c_str()) != 0 && errno != ENOENT)
                return attach_error(errno, what + ": unpin stale link " + pin_path.string());
        }
    }
    UniqueFd link(::bpf_link_create(prog_fd, ifindex_, tcx_attach_type(hook_), nullptr));
    if (!link.valid())
        return attach_error(errno, what);
    if (!pin_path.empty()) {
        Status pinned = pin_object(link.get(), pin_path);
        if (!pinned)
            return Error::from_errno(pinned.error().errnum, what + ": " + pinned.error().message);
    }
    link_ = std::move(link);
    pin_path_ = pin_path;
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
        if (::bpf_link_update(link_.get(), prog_fd, nullptr) != 0)
            return attach_error(errno, what);
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
        const std::string what = describe("detach", mode_, hook_, interface_);
        // bpf_link_detach, not just close: a pin or another process may hold the link too.
        if (::bpf_link_detach(link_.get()) != 0 && errno != ENOLINK)
            return attach_error(errno, what);
        if (!pin_path_.empty() && ::unlink(pin_path_.c_str()) != 0 && errno != ENOENT)
            return attach_error(errno, what + ": unpin " + pin_path_.string());
        link_.reset();
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
    if (attached_ && mode_ == TcAttachMode::tcx && pin_path_.empty())
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
