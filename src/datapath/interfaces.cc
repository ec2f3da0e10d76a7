// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/interfaces.h"

#include "src/common/unique_fd.h"
#include "src/datapath/netns.h"
#include "src/datapath/rtnetlink.h"

#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

namespace flowwall::datapath {

namespace {

InterfaceInfo parse_link(const nlmsghdr* message) {
    const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(message));
    InterfaceInfo result;
    result.ifindex = info->ifi_index;
    result.loopback = (info->ifi_flags & IFF_LOOPBACK) != 0;
    int length = static_cast<int>(IFLA_PAYLOAD(message));
    for (const rtattr* attribute = IFLA_RTA(info); RTA_OK(attribute, length);
         attribute = RTA_NEXT(attribute, length)) {
        const void* data = RTA_DATA(attribute);
        size_t size = RTA_PAYLOAD(attribute);
        switch (attribute->rta_type) {
        case IFLA_IFNAME:
            result.name.assign(static_cast<const char*>(data),
                               ::strnlen(static_cast<const char*>(data), size));
            break;
        case IFLA_LINK:
            if (size >= sizeof(int32_t))
                std::memcpy(&result.link_ifindex, data, sizeof(int32_t));
            break;
        case IFLA_LINK_NETNSID:
            if (size >= sizeof(int32_t))
                std::memcpy(&result.link_netnsid, data, sizeof(int32_t));
            break;
        case IFLA_LINKINFO: {
            int nested_length = static_cast<int>(size);
            for (auto* nested = static_cast<const rtattr*>(data); RTA_OK(nested, nested_length);
                 nested = RTA_NEXT(nested, nested_length)) {
                if (nested->rta_type == IFLA_INFO_KIND) {
                    const auto* kind = static_cast<const char*>(RTA_DATA(nested));
                    result.kind.assign(kind, ::strnlen(kind, RTA_PAYLOAD(nested)));
                }
            }
            break;
        }
        default:
            break;
        }
    }
    return result;
}

// RTM_GETLINK dump in the calling thread's namespace.
Result<std::vector<InterfaceInfo>> dump_links() {
    auto sock = open_rtnetlink("RTM_GETLINK dump");
    if (!sock)
        return sock.error();
    struct {
        nlmsghdr header;
        ifinfomsg info;
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    request.header.nlmsg_type = RTM_GETLINK;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = kRtnetlinkSequence;
    request.info.ifi_family = AF_UNSPEC;
    std::vector<InterfaceInfo> links;
    auto read = rtnetlink_exchange(
        sock.value().get(), request.header, RTM_NEWLINK, true, "RTM_GETLINK dump",
        [&](const nlmsghdr* message) { links.push_back(parse_link(message)); });
    if (!read)
        return read.error();
    return links;
}

// The id the calling thread's namespace gives the namespace open at netns_fd; -1 if none.
Result<int> namespace_id_of(int netns_fd) {
    auto sock = open_rtnetlink("RTM_GETNSID");
    if (!sock)
        return sock.error();
    struct {
        nlmsghdr header;
        rtgenmsg family;
        char attributes[64];
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtgenmsg));
    request.header.nlmsg_type = RTM_GETNSID;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = kRtnetlinkSequence;
    request.family.rtgen_family = AF_UNSPEC;
    auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                                NLMSG_ALIGN(request.header.nlmsg_len));
    attribute->rta_type = NETNSA_FD;
    attribute->rta_len = RTA_LENGTH(sizeof(uint32_t));
    uint32_t fd = static_cast<uint32_t>(netns_fd);
    std::memcpy(RTA_DATA(attribute), &fd, sizeof(fd));
    request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + attribute->rta_len;
    int id = -1;
    auto read = rtnetlink_exchange(
        sock.value().get(), request.header, RTM_NEWNSID, false, "RTM_GETNSID",
        [&](const nlmsghdr* message) {
            const auto* generic = static_cast<const rtgenmsg*>(NLMSG_DATA(message));
            int length =
                static_cast<int>(message->nlmsg_len) - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*generic)));
            for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(generic) +
                                                           NLMSG_ALIGN(sizeof(*generic)));
                 RTA_OK(a, length); a = RTA_NEXT(a, length)) {
                if (a->rta_type == NETNSA_NSID && RTA_PAYLOAD(a) >= sizeof(int32_t))
                    std::memcpy(&id, RTA_DATA(a), sizeof(int32_t));
            }
        });
    if (!read)
        return read.error();
    return id;
}

} // namespace

Result<std::vector<InterfaceInfo>> list_interfaces(const std::string& netns_path) {
    std::vector<InterfaceInfo> links;
    auto status = run_in_netns(netns_path, [&]() -> Status {
        auto dumped = dump_links();
        if (!dumped)
            return dumped.error();
        links = std::move(dumped.value());
        return {};
    });
    if (!status)
        return Error{status.error().errnum,
                     "list interfaces in " +
                         (netns_path.empty() ? std::string("the host namespace") : netns_path) +
                         ": " + status.error().message};
    return links;
}

Result<std::optional<VethPeer>> find_veth_peer(const std::string& netns_path,
                                               const std::string& ifname,
                                               const std::vector<std::string>& namespace_dirs) {
    // The daemon's own namespace first (opened here, before any thread enters another one),
    // then every namespace mounted under namespace_dirs.
    UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!own.valid())
        return Error::from_errno(errno, "open the daemon's network namespace");
    std::vector<std::string> candidates{""};
    for (const auto& dir : namespace_dirs) {
        std::error_code error; // a directory that does not exist holds no namespace
        for (const auto& entry : std::filesystem::directory_iterator(dir, error))
            if (!entry.is_directory(error))
                candidates.push_back(entry.path().string());
    }

    int workload_ifindex = 0;
    int peer_netnsid = -1;
    int peer_ifindex = 0;
    std::optional<std::string> peer_netns;
    auto status = run_in_netns(netns_path, [&]() -> Status {
        auto links = dump_links();
        if (!links)
            return links.error();
        const InterfaceInfo* workload_side = nullptr;
        for (const auto& link : links.value())
            if (link.name == ifname)
                workload_side = &link;
        if (workload_side == nullptr)
            return Error::from_errno(ENODEV, "no interface " + ifname);
        // Not a veth, or both ends in this namespace: no far end out of the workload's reach.
        if (workload_side->kind != "veth" || workload_side->link_netnsid < 0)
            return {};
        workload_ifindex = workload_side->ifindex;
        peer_netnsid = workload_side->link_netnsid;
        peer_ifindex = workload_side->link_ifindex;
        // The id this namespace gives each candidate (RTM_GETNSID assigns none): the one that
        // matches IFLA_LINK_NETNSID holds the peer. A file that is no namespace is skipped.
        for (const auto& candidate : candidates) {
            UniqueFd opened;
            if (!candidate.empty())
                opened = UniqueFd(::open(candidate.c_str(), O_RDONLY | O_CLOEXEC));
            const int fd = candidate.empty() ? own.get() : opened.get();
            if (fd < 0)
                continue;
            auto id = namespace_id_of(fd);
            if (id && id.value() == peer_netnsid) {
                peer_netns = candidate;
                break;
            }
        }
        return {};
    });
    if (!status)
        return Error{status.error().errnum, "find the veth peer of " + ifname + " in " +
                                                netns_path + ": " + status.error().message};
    if (!peer_netns)
        return std::optional<VethPeer>{};

    auto far_side = list_interfaces(*peer_netns);
    if (!far_side)
        return far_side.error();
    for (const auto& link : far_side.value())
        if (link.ifindex == peer_ifindex && link.kind == "veth" &&
            link.link_ifindex == workload_ifindex)
            return std::optional<VethPeer>{
                VethPeer{.netns_path = *peer_netns, .name = link.name, .ifindex = link.ifindex}};
    // The pair went away between the two reads: the workload is stopping.
    return Error::from_errno(ENODEV,
                             "the veth peer of " + ifname + " in " + netns_path + " is gone");
}

} // namespace flowwall::datapath
