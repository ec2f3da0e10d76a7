// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/uplinks.h"

#include "src/datapath/owned_link.h"
#include "src/datapath/rtnetlink.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace flowwall::daemon {

namespace {

// The output interfaces of one RTM_NEWROUTE if it is a default route of the main table.
void default_route_oifs(const nlmsghdr* message, std::set<int>& oifs) {
    const auto* route = static_cast<const rtmsg*>(NLMSG_DATA(message));
    if (route->rtm_dst_len != 0 || route->rtm_type != RTN_UNICAST)
        return;
    uint32_t table = route->rtm_table;
    int length = static_cast<int>(RTM_PAYLOAD(message));
    std::set<int> found;
    for (const rtattr* attribute = RTM_RTA(route); RTA_OK(attribute, length);
         attribute = RTA_NEXT(attribute, length)) {
        if (attribute->rta_type == RTA_TABLE && RTA_PAYLOAD(attribute) >= sizeof(uint32_t))
            std::memcpy(&table, RTA_DATA(attribute), sizeof(uint32_t));
        if (attribute->rta_type == RTA_OIF && RTA_PAYLOAD(attribute) >= sizeof(int)) {
            int oif = 0;
            std::memcpy(&oif, RTA_DATA(attribute), sizeof(int));
            found.insert(oif);
        }
        if (attribute->rta_type == RTA_MULTIPATH) {
            auto* hop = static_cast<const rtnexthop*>(RTA_DATA(attribute));
            int left = static_cast<int>(RTA_PAYLOAD(attribute));
            while (left >= static_cast<int>(sizeof(rtnexthop)) &&
                   hop->rtnh_len >= sizeof(rtnexthop) && hop->rtnh_len <= left) {
                found.insert(hop->rtnh_ifindex);
                left -= RTNH_ALIGN(hop->rtnh_len);
                hop = RTNH_NEXT(hop);
            }
        }
    }
    if (table == RT_TABLE_MAIN)
        oifs.insert(found.begin(), found.end());
}

} // namespace

Result<std::vector<std::string>> default_route_interfaces() {
    std::set<int> oifs;
    for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
        auto sock = datapath::open_rtnetlink("RTM_GETROUTE dump");
        if (!sock)
            return sock.error();
        struct {
            nlmsghdr header;
            rtmsg route;
        } request{};
        request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
        request.header.nlmsg_type = RTM_GETROUTE;
        request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        request.header.nlmsg_seq = datapath::kRtnetlinkSequence;
        request.route.rtm_family = family;
        auto dumped = datapath::rtnetlink_exchange(
            sock.value().get(), request.header, RTM_NEWROUTE, true, "RTM_GETROUTE dump",
            [&oifs](const nlmsghdr* message) { default_route_oifs(message, oifs); });
        if (!dumped)
            return dumped.error();
    }
    std::vector<std::string> names;
    for (int oif : oifs) {
        char name[IF_NAMESIZE] = {};
        if (::if_indextoname(static_cast<unsigned>(oif), name))
            names.emplace_back(name);
    }
    return names;
}

Uplinks::Uplinks(const std::vector<std::string>& names, int prefilter_fd, datapath::XdpMode mode,
                 const std::filesystem::path& links_dir) {
    for (const auto& name : names) {
        UplinkState state{name, "", ""};
        auto attached =
            datapath::XdpAttachment::attach(datapath::InterfaceRef{"", name}, prefilter_fd, mode,
                                            links_dir / ("host-" + name + "-xdp"));
        if (attached) {
            state.mode =
                attached.value().mode() == datapath::XdpMode::native ? "native" : "generic";
            spdlog::info("uplink {}: XDP prefilter attached ({})", name, state.mode);
            attachments_.push_back(std::move(attached.value()));
        } else {
            state.error = attached.error().to_string();
            spdlog::error("uplink {}: the XDP prefilter could not be attached, inbound deny "
                          "lists act only in TC there: {}",
                          name, state.error);
        }
        states_.push_back(std::move(state));
    }
    // An interface that is no uplink any more (the config or the default routes changed)
    // loses the prefilter a previous run left there.
    std::set<std::filesystem::path> owned;
    for (const auto& name : names)
        owned.insert(links_dir / ("host-" + name + "-xdp"));
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(links_dir, error)) {
        if (owned.contains(entry.path()))
            continue;
        if (auto detached = datapath::detach_pinned_link(entry.path()); !detached)
            spdlog::warn("stale uplink pin: {}", detached.error().to_string());
        else
            spdlog::info("removed the prefilter of a former uplink ({})", entry.path().string());
    }
}

Uplinks::~Uplinks() {
    for (auto& attachment : attachments_)
        if (auto kept = attachment.keep_on_exit(); !kept)
            spdlog::warn("uplink {}: {}", attachment.interface().name, kept.error().to_string());
}

nlohmann::json Uplinks::view() const {
    nlohmann::json uplinks = nlohmann::json::array();
    for (const auto& state : states_)
        uplinks.push_back({{"name", state.name},
                           {"xdp_mode", state.mode.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(state.mode)},
                           {"error", state.error.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(state.error)}});
    return uplinks;
}

std::vector<std::string> Uplinks::problems() const {
    std::vector<std::string> found;
    for (const auto& state : states_)
        if (!state.error.empty())
            found.push_back("uplink " + state.name + " has no XDP prefilter: " + state.error);
    return found;
}

} // namespace flowwall::daemon
