// SPDX-License-Identifier: Apache-2.0
// An XDP program attached to one interface through a bpf_link (BPF_LINK_CREATE with BPF_XDP),
// owned RAII and pinned if asked, so that it outlives the daemon. An interface has one XDP
// program per mode; another user's program there makes attach fail, never get replaced.
#pragma once

#include "src/common/result.h"
#include "src/common/unique_fd.h"
#include "src/datapath/netns.h"
#include "src/datapath/owned_link.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace flowwall::datapath {

// automatic: native (in the driver) where the driver supports it, else generic (in the stack).
enum class XdpMode { automatic, native, generic };

class XdpAttachment {
public:
    // If a live XDP link of the same interface is pinned at pin_path already (left by a
    // previous daemon), it is adopted and switched to prog_fd atomically.
    static Result<XdpAttachment> attach(const InterfaceRef& iface, int prog_fd, XdpMode mode,
                                        const std::filesystem::path& pin_path = {});

    XdpAttachment(XdpAttachment&& other) noexcept;
    XdpAttachment& operator=(XdpAttachment&& other) noexcept;
    XdpAttachment(const XdpAttachment&) = delete;
    XdpAttachment& operator=(const XdpAttachment&) = delete;
    // detach() unless keep_on_exit(); a failure goes to take_detach_failures().
    ~XdpAttachment();

    // Atomic: bpf_link_update.
    Status replace_program(int prog_fd);

    // Detaches the link and removes its pin. An interface already gone counts as detached.
    Status detach();

    // Leaves the program attached when this object goes away. Fails for an unpinned link: the
    // kernel drops it with its last fd.
    Status keep_on_exit();

    // native or generic as attached; for an adopted link, as the kernel reports it.
    XdpMode mode() const { return mode_; }
    const InterfaceRef& interface() const { return interface_; }
    int link_fd() const { return link_.fd(); }
    bool attached() const { return attached_; }

private:
    XdpAttachment(InterfaceRef iface, XdpMode mode, int ifindex);
    Status attach_link(int prog_fd, const std::filesystem::path& pin_path);
    Result<UniqueFd> create_link(int prog_fd, XdpMode mode);
    void release_on_destruction();

    InterfaceRef interface_;
    XdpMode mode_ = XdpMode::native;
    int ifindex_ = 0; // inside interface_.netns_path
    OwnedLink link_;
    bool attached_ = false;
    bool keep_on_exit_ = false;
};

// Ids of the XDP programs on an interface, 0 where none; for tests and status output.
struct XdpProgramIds {
    uint32_t native = 0;
    uint32_t generic = 0;
};
Result<XdpProgramIds> xdp_program_ids(const InterfaceRef& iface);

} // namespace flowwall::datapath
