// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/netlink_filters.h"

#include "src/datapath/libbpf_log.h"

#include "src/datapath/rtnetlink.h"

#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

namespace flowwall::datapath {

namespace {

// The clsact qdiscs this process created, by (netns path, ifindex). A qdisc serves both sides
// of an interface and the attachment that created it need not be the last to leave, so
// ownership belongs to the interface, not to one attachment.
std::mutex created_qdiscs_mutex;
std::set<std::pair<std::string, int>> created_qdiscs;

TcFilterEntry parse_filter(const nlmsghdr* message) {
    const auto* tc = static_cast<const tcmsg*>(NLMSG_DATA(message));
    TcFilterEntry entry;
    entry.handle = tc->tcm_handle;
    entry.priority = static_cast<uint16_t>(TC_H_MAJ(tc->tcm_info) >> 16);
    entry.protocol = ntohs(static_cast<uint16_t>(TC_H_MIN(tc->tcm_info)));
    int attributes_length = static_cast<int>(message->nlmsg_len) - NLMSG_LENGTH(sizeof(tcmsg));
    for (const auto* attribute = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(tc) +
                                                                 NLMSG_ALIGN(sizeof(tcmsg)));
         RTA_OK(attribute, attributes_length); attribute = RTA_NEXT(attribute, attributes_length)) {
        if (attribute->rta_type == TCA_KIND) {
            const auto* kind = static_cast<const char*>(RTA_DATA(attribute));
            entry.kind.assign(kind, ::strnlen(kind, RTA_PAYLOAD(attribute)));
        }
    }
    return entry;
}

bpf_tc_hook clsact_side(int ifindex, uint32_t parent) {
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = parent == kClsactIngressParent ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    return hook;
}

bpf_tc_opts flowwall_filter(int prog_fd) {
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.prog_fd = prog_fd;
    opts.handle = kFlowwallTcHandle;
    opts.priority = kFlowwallTcPriority;
    // REPLACE: a filter at flowwall's handle and priority is flowwall's own (left by a daemon
    // that exited with keep_on_exit), so it is taken over instead of failing with EEXIST.
    opts.flags = BPF_TC_F_REPLACE;
    return opts;
}

// Call after flowwall's filter is gone.
Status remove_qdisc_if_ours_and_unused(const std::string& netns_path, int ifindex) {
    std::lock_guard lock(created_qdiscs_mutex);
    auto ours = created_qdiscs.find({netns_path, ifindex});
    if (ours == created_qdiscs.end())
        return {};
    for (uint32_t parent : {kClsactIngressParent, kClsactEgressParent}) {
        Result<std::vector<TcFilterEntry>> filters = list_tc_filters(ifindex, parent);
        if (!filters)
            return filters.error();
        if (!filters.value().empty())
            return {}; // still in use, by others or by flowwall's other side
    }
    bpf_tc_hook whole_qdisc = clsact_side(ifindex, kClsactIngressParent);
    whole_qdisc.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    int result = ::bpf_tc_hook_destroy(&whole_qdisc);
    // ENOENT/EINVAL: someone removed the qdisc already.
    if (result != 0 && result != -ENOENT && result != -EINVAL)
        return Error::from_errno(result, "remove the clsact qdisc flowwall created");
    created_qdiscs.erase(ours);
    return {};
}

} // namespace

Result<std::vector<TcFilterEntry>> list_tc_filters(int ifindex, uint32_t parent) {
    const std::string what = "list TC filters of ifindex " + std::to_string(ifindex);
    auto sock = open_rtnetlink(what);
    if (!sock)
        return sock.error();
    struct {
        nlmsghdr header;
        tcmsg tc;
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(tcmsg));
    request.header.nlmsg_type = RTM_GETTFILTER;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = kRtnetlinkSequence;
    request.tc.tcm_family = AF_UNSPEC;
    request.tc.tcm_ifindex = ifindex;
    request.tc.tcm_parent = parent;
    std::vector<TcFilterEntry> filters;
    Status listed = rtnetlink_exchange(
        sock.value().get(), request.header, RTM_NEWTFILTER, true, what,
        [&](const nlmsghdr* message) { filters.push_back(parse_filter(message)); });
    if (!listed)
        return listed.error();
    return filters;
}

Result<bool> flowwall_filter_present(int ifindex, uint32_t parent) {
    Result<std::vector<TcFilterEntry>> filters = list_tc_filters(ifindex, parent);
    if (!filters)
        return filters.error();
    for (const TcFilterEntry& entry : filters.value())
        if (entry.priority == kFlowwallTcPriority && entry.kind == "bpf")
            return true;
    return false;
}

Status attach_flowwall_filter(const std::string& netns_path, int ifindex, uint32_t parent,
                              int prog_fd) {
    bpf_tc_hook hook = clsact_side(ifindex, parent);
    int created;
    {
        // Creating the hook is how flowwall learns whether it owns the qdisc: EEXIST is an
        // answer, not a problem worth a warning.
        LibbpfFailureExpected eexist_is_an_answer;
        created = ::bpf_tc_hook_create(&hook);
    }
    if (created == 0) {
        std::lock_guard lock(created_qdiscs_mutex);
        created_qdiscs.insert({netns_path, ifindex});
    } else if (created != -EEXIST) { // EEXIST: someone's qdisc (maybe ours), used as it is
        return Error::from_errno(created, "create clsact qdisc");
    }
    Status attached = replace_flowwall_filter_program(ifindex, parent, prog_fd);
    if (attached)
        return {};
    Status cleaned = remove_qdisc_if_ours_and_unused(netns_path, ifindex);
    if (!cleaned)
        return Error::from_errno(attached.error().errnum, attached.error().message + " (and then " +
                                                              cleaned.error().to_string() + ")");
    return attached;
}

Status replace_flowwall_filter_program(int ifindex, uint32_t parent, int prog_fd) {
    bpf_tc_hook hook = clsact_side(ifindex, parent);
    bpf_tc_opts filter = flowwall_filter(prog_fd);
    int result = ::bpf_tc_attach(&hook, &filter);
    if (result != 0)
        return Error::from_errno(result, "put the program in flowwall's cls_bpf filter");
    return {};
}

Status detach_flowwall_filter(const std::string& netns_path, int ifindex, uint32_t parent) {
    bpf_tc_hook hook = clsact_side(ifindex, parent);
    bpf_tc_opts filter = flowwall_filter(0);
    filter.flags = 0; // bpf_tc_detach insists on zero prog_fd, prog_id and flags
    int result = ::bpf_tc_detach(&hook, &filter);
    if (result == -ENODEV)
        return {}; // the interface went away, and the filter with it
    if (result != 0) {
        // Fine too if the filter is gone anyway (someone deleted it, or the whole qdisc).
        Result<bool> present = flowwall_filter_present(ifindex, parent);
        if (!present || present.value())
            return Error::from_errno(result, "delete flowwall's cls_bpf filter");
    }
    return remove_qdisc_if_ours_and_unused(netns_path, ifindex);
}

} // namespace flowwall::datapath
