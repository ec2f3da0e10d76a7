// SPDX-License-Identifier: Apache-2.0
// A SCHED_CLS program attached to one side (ingress or egress) of one interface, owned RAII:
// through a tcx bpf_link where the kernel has tcx (Linux 6.6), else as a cls_bpf filter on a
// clsact qdisc. Other users of TC on the same interface are left alone: flowwall creates the
// qdisc only if absent and removes only its own filter (and its own qdisc once unused).
#pragma once

#include "src/common/result.h"
#include "src/common/unique_fd.h"
#include "src/datapath/netns.h"
#include "src/datapath/owned_link.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace flowwall::datapath {

enum class TcHook { ingress, egress };

// automatic: tcx if the kernel has it, else clsact.
enum class TcAttachMode { automatic, tcx, clsact };

class TcAttachment {
public:
    // Programs run in order and TC_ACT_OK ends the run for both modes, so a program that lets
    // a packet pass should return TC_ACT_UNSPEC (TCX_NEXT) to leave others' programs after it
    // their say.
    // tcx: a bpf_link, appended after the programs already on the hook, pinned at pin_path if
    // given so that it outlives the process. If a tcx
    // link for the same interface and hook is pinned there already (left by a previous
    // daemon), it is adopted and switched to prog_fd atomically: enforcement has no gap.
    // clsact: creates the clsact qdisc if absent, then adds (or takes over) flowwall's filter
    // at its fixed priority (netlink_filters.h); pin_path must be empty (filters cannot be
    // pinned; they persist on their own).
    static Result<TcAttachment> attach(const InterfaceRef& iface, TcHook hook, int prog_fd,
                                       TcAttachMode mode,
                                       const std::filesystem::path& pin_path = {});

    TcAttachment(TcAttachment&& other) noexcept;
    TcAttachment& operator=(TcAttachment&& other) noexcept;
    TcAttachment(const TcAttachment&) = delete;
    TcAttachment& operator=(const TcAttachment&) = delete;
    // detach() unless keep_on_exit(); a failure goes to take_detach_failures().
    ~TcAttachment();

    // Atomic: packets see either the old or the new program, never none.
    Status replace_program(int prog_fd);

    // Removes exactly what this attachment made: the tcx link and its pin; or flowwall's
    // filter, and the clsact qdisc if flowwall created it and no filter is left on either side.
    // An interface or namespace that is already gone counts as detached.
    Status detach();

    // Leaves the program attached when this object goes away (the daemon exits, enforcement
    // goes on). Fails for an unpinned tcx link: the kernel drops it with its last fd.
    Status keep_on_exit();

    TcAttachMode mode() const { return mode_; } // tcx or clsact, never automatic
    const InterfaceRef& interface() const { return interface_; }
    TcHook hook() const { return hook_; }
    int link_fd() const { return link_.fd(); } // -1 for clsact
    bool attached() const { return attached_; }

private:
    TcAttachment(InterfaceRef iface, TcHook hook, TcAttachMode mode, int ifindex);
    Status attach_tcx(int prog_fd, const std::filesystem::path& pin_path);
    Status attach_clsact(int prog_fd);
    Status detach_clsact();
    void release_on_destruction();

    InterfaceRef interface_;
    TcHook hook_ = TcHook::ingress;
    TcAttachMode mode_ = TcAttachMode::tcx;
    int ifindex_ = 0; // inside interface_.netns_path
    OwnedLink link_;  // tcx only
    bool attached_ = false;
    bool keep_on_exit_ = false;
};

// Ids of the programs attached to a tcx hook, in run order; for tests and status output.
Result<std::vector<uint32_t>> tcx_program_ids(const InterfaceRef& iface, TcHook hook);

} // namespace flowwall::datapath
