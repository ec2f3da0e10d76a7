// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/interface_addresses.h"

#include "src/datapath/netns.h"
#include "src/datapath/rtnetlink.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace flowwall::datapath {

namespace {

// IFLA_ADDRESS of one link (RTM_GETLINK for its index), if it is 6 bytes long.
Result<std::optional<std::array<uint8_t, 6>>> link_mac(int ifindex) {
    auto sock = open_rtnetlink("RTM_GETLINK");
    if (!sock)
        return sock.error();
    struct {
        nlmsghdr header;
        ifinfomsg info;
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    request.header.nlmsg_type = RTM_GETLINK;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = kRtnetlinkSequence;
    request.info.ifi_family = AF_UNSPEC;
    request.info.ifi_index = ifindex;
    std::optional<std::array<uint8_t, 6>> mac;
    auto read = rtnetlink_exchange(
        sock.value().get(), request.header, RTM_NEWLINK, false, "RTM_GETLINK",
        [&](const nlmsghdr* message) {
            const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(message));
            int length = static_cast<int>(IFLA_PAYLOAD(message));
            for (const rtattr* a = IFLA_RTA(info); RTA_OK(a, length); a = RTA_NEXT(a, length))
                if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
                    mac.emplace();
                    std::memcpy(mac->data(), RTA_DATA(a), 6);
                }
        });
    if (!read)
        return read.error();
    return mac;
}

// Every address on ifindex (RTM_GETADDR dump of both families, filtered here).
Result<std::vector<IpAddress>> link_addresses(int ifindex) {
    auto sock = open_rtnetlink("RTM_GETADDR dump");
    if (!sock)
        return sock.error();
    struct {
        nlmsghdr header;
        ifaddrmsg info;
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    request.header.nlmsg_type = RTM_GETADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = kRtnetlinkSequence;
    request.info.ifa_family = AF_UNSPEC;
    std::vector<IpAddress> addresses;
    auto read = rtnetlink_exchange(
        sock.value().get(), request.header, RTM_NEWADDR, true, "RTM_GETADDR dump",
        [&](const nlmsghdr* message) {
            const auto* info = static_cast<const ifaddrmsg*>(NLMSG_DATA(message));
            if (static_cast<int>(info->ifa_index) != ifindex ||
                (info->ifa_family != AF_INET && info->ifa_family != AF_INET6))
                return;
            const size_t size = info->ifa_family == AF_INET ? 4 : 16;
            int length = static_cast<int>(IFA_PAYLOAD(message));
            // IFA_LOCAL is the interface's own address on point-to-point links, where
            // IFA_ADDRESS is the peer's; elsewhere only IFA_ADDRESS is sent.
            std::optional<IpAddress> address, local;
            for (const rtattr* a = IFA_RTA(info); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
                if ((a->rta_type != IFA_ADDRESS && a->rta_type != IFA_LOCAL) ||
                    RTA_PAYLOAD(a) != size)
                    continue;
                IpAddress parsed;
                parsed.family = size == 4 ? kFamilyIpv4 : kFamilyIpv6;
                std::memcpy(parsed.bytes.data(), RTA_DATA(a), size);
                (a->rta_type == IFA_LOCAL ? local : address) = parsed;
            }
            if (auto own = local ? local : address;
                own && std::find(addresses.begin(), addresses.end(), *own) == addresses.end())
                addresses.push_back(*own);
        });
    if (!read)
        return read.error();
    std::stable_partition(addresses.begin(), addresses.end(),
                          [](const IpAddress& a) { return a.is_ipv4(); });
    return addresses;
}

} // namespace

bool is_link_local(const IpAddress& address) {
    return !address.is_ipv4() && address.bytes[0] == 0xfe && (address.bytes[1] & 0xc0) == 0x80;
}

Result<InterfaceAddresses> read_interface_addresses(const std::string& netns_path,
                                                    const std::string& ifname) {
    InterfaceAddresses result;
    auto status = run_in_netns(netns_path, [&]() -> Status {
        auto ifindex = ifindex_in_entered_netns({netns_path, ifname});
        if (!ifindex)
            return ifindex.error();
        result.ifindex = ifindex.value();
        auto mac = link_mac(result.ifindex);
        if (!mac)
            return mac.error();
        result.mac = mac.value();
        auto addresses = link_addresses(result.ifindex);
        if (!addresses)
            return addresses.error();
        result.addresses = std::move(addresses.value());
        return {};
    });
    if (!status)
        return Error{status.error().errnum, "addresses of " +
                                                InterfaceRef{netns_path, ifname}.to_string() +
                                                ": " + status.error().message};
    return result;
}

} // namespace flowwall::datapath
