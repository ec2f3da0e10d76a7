// SPDX-License-Identifier: Apache-2.0
#include "tests/support/bridge_lab.h"

#include "src/common/unique_fd.h"

#include <linux/if_packet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace flowwall::testing {
namespace {

constexpr unsigned kSubnetCount = 512; // /24s in 198.18.0.0/15
constexpr int kLastHost = 254;

std::string join(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& arg : argv)
        text += (text.empty() ? "" : " ") + arg;
    return text;
}

void run(const std::vector<std::string>& argv) {
    const ExecResult result = Lab::exec("", argv);
    if (!result.ok())
        throw std::runtime_error("`" + join(argv) + "` failed" +
                                 (result.timed_out ? " (timed out)" : "") + ": " + result.err);
}

// Writes /proc/sys/net/<key> as the namespace sees it (the writing thread's namespace).
void write_sysctls(const std::string& netns_path,
                   const std::vector<std::pair<std::string, std::string>>& settings) {
    Lab::run_in_netns(netns_path, [&] {
        for (const auto& [key, value] : settings) {
            const std::string path = "/proc/sys/net/" + key;
            UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (!fd.valid() || ::write(fd.get(), value.data(), value.size()) < 0)
                throw std::system_error(errno, std::generic_category(), "write " + path);
        }
    });
}

int ifindex_in(const std::string& netns_path, const std::string& ifname) {
    unsigned index = 0;
    Lab::run_in_netns(netns_path, [&] { index = ::if_nametoindex(ifname.c_str()); });
    if (index == 0)
        throw std::runtime_error("no interface " + ifname + " in " + netns_path);
    return static_cast<int>(index);
}

// Calls fn for every getifaddrs() entry of `ifname` inside the namespace.
void for_each_ifaddr(const std::string& netns_path, const std::string& ifname,
                     const std::function<void(const ifaddrs&)>& fn) {
    Lab::run_in_netns(netns_path, [&] {
        ifaddrs* list = nullptr;
        if (::getifaddrs(&list) != 0)
            throw std::system_error(errno, std::generic_category(), "getifaddrs");
        for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next)
            if (entry->ifa_addr != nullptr && ifname == entry->ifa_name)
                fn(*entry);
        ::freeifaddrs(list);
    });
}

} // namespace

MacAddress interface_mac(const std::string& netns_path, const std::string& ifname) {
    std::optional<MacAddress> mac;
    for_each_ifaddr(netns_path, ifname, [&](const ifaddrs& entry) {
        if (entry.ifa_addr->sa_family != AF_PACKET)
            return;
        const auto* link = reinterpret_cast<const sockaddr_ll*>(entry.ifa_addr);
        if (link->sll_halen == 6) {
            mac.emplace();
            std::memcpy(mac->data(), link->sll_addr, 6);
        }
    });
    if (!mac)
        throw std::runtime_error("no MAC address on " + ifname + " in " + netns_path);
    return *mac;
}

Address interface_link_local(const std::string& netns_path, const std::string& ifname) {
    std::optional<Address> found;
    for_each_ifaddr(netns_path, ifname, [&](const ifaddrs& entry) {
        if (entry.ifa_addr->sa_family != AF_INET6)
            return;
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(entry.ifa_addr);
        if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
            found = Address::from_bytes(
                AF_INET6, std::span(reinterpret_cast<const uint8_t*>(&in6->sin6_addr), 16));
    });
    if (!found)
        throw std::runtime_error("no link-local address on " + ifname + " in " + netns_path);
    return *found;
}

BridgeLab::BridgeLab() {
    if (::geteuid() != 0)
        throw std::runtime_error("BridgeLab needs root: creates network namespaces");
    lock_ = std::make_unique<LabPrefix>(LabPrefix::acquire(Lab::kPrefixBase));
    prefix_ = lock_->name();
    remove_lab_leftovers(prefix_, /*spare_live=*/false);
    subnet_ =
        static_cast<unsigned>(std::stoul(prefix_.substr(Lab::kPrefixBase.size()))) % kSubnetCount;
    gateway_v4_ = subnet_v4(1);
    gateway_v6_ = subnet_v6(1);
    bridge_netns_ = prefix_ + "-br";
    try {
        run({"ip", "netns", "add", bridge_netns_});
        created_netns_.push_back(bridge_netns_);
        // DAD off before any port exists, so link-local addresses are usable at once.
        write_sysctls(bridge_netns_path(), {{"ipv4/ip_forward", "1"},
                                            {"ipv6/conf/all/forwarding", "1"},
                                            {"ipv6/conf/all/accept_dad", "0"},
                                            {"ipv6/conf/default/accept_dad", "0"}});
        const std::string& ns = bridge_netns_;
        run({"ip", "-n", ns, "link", "set", "lo", "up"});
        run({"ip", "-n", ns, "link", "add", kBridge, "type", "bridge"});
        run({"ip", "-n", ns, "link", "set", kBridge, "up"});
        run({"ip", "-n", ns, "addr", "add", gateway_v4_.str() + "/24", "brd", "+", "dev", kBridge});
        run({"ip", "-n", ns, "-6", "addr", "add", gateway_v6_.str() + "/64", "dev", kBridge,
             "nodad"});
    } catch (...) {
        teardown();
        throw;
    }
}

BridgeLab::~BridgeLab() {
    teardown();
}

Address BridgeLab::subnet_v4(int host) const {
    return Address::v4("198." + std::to_string(18 + subnet_ / 256) + "." +
                       std::to_string(subnet_ % 256) + "." + std::to_string(host));
}

Address BridgeLab::subnet_v6(int host) const {
    std::array<char, 64> text{};
    std::snprintf(text.data(), text.size(), "fd00:198:18:%x::%x", subnet_, host);
    return Address::v6(text.data());
}

const Workload& BridgeLab::add_workload(const std::string& name) {
    const int host = static_cast<int>(workloads_.size()) + 2; // .1 is the bridge
    if (host > kLastHost)
        throw std::runtime_error("BridgeLab: no free address left in the lab's /24");
    for (const auto& other : workloads_)
        if (other.name == name)
            throw std::invalid_argument("BridgeLab: two workloads named " + name);
    Workload w;
    w.name = name;
    w.netns = prefix_ + "-" + name;
    w.netns_path = Lab::netns_path(w.netns);
    w.v4 = subnet_v4(host);
    w.v6 = subnet_v6(host);
    w.ifname = "eth0";
    w.hub_ifname = prefix_ + std::to_string(host) + "b";
    w.hub_netns_path = bridge_netns_path();
    try {
        build_workload(w);
    } catch (...) {
        if (std::find(created_netns_.begin(), created_netns_.end(), w.netns) !=
            created_netns_.end()) {
            Lab::exec("", {"ip", "netns", "del", w.netns});
            std::erase(created_netns_, w.netns);
        }
        throw;
    }
    return workloads_.emplace_back(std::move(w));
}

// Like `docker run` on the default bridge: eth0 with an address of the shared /24 and /64,
// default routes via br0's addresses, the host-side peer a port of br0.
void BridgeLab::build_workload(Workload& w) {
    const std::string& br = bridge_netns_;
    run({"ip", "netns", "add", w.netns});
    created_netns_.push_back(w.netns);
    write_sysctls(w.netns_path,
                  {{"ipv6/conf/all/accept_dad", "0"}, {"ipv6/conf/default/accept_dad", "0"}});
    run({"ip", "-n", w.netns, "link", "add", w.ifname, "type", "veth", "peer", "name", w.hub_ifname,
         "netns", br});
    run({"ip", "-n", w.netns, "link", "set", "lo", "up"});
    run({"ip", "-n", w.netns, "link", "set", w.ifname, "up"});
    run({"ip", "-n", w.netns, "addr", "add", w.v4.str() + "/24", "brd", "+", "dev", w.ifname});
    run({"ip", "-n", w.netns, "-6", "addr", "add", w.v6.str() + "/64", "dev", w.ifname, "nodad"});
    run({"ip", "-n", w.netns, "route", "add", "default", "via", gateway_v4_.str()});
    run({"ip", "-n", w.netns, "-6", "route", "add", "default", "via", gateway_v6_.str()});
    run({"ip", "-n", br, "link", "set", w.hub_ifname, "master", kBridge});
    run({"ip", "-n", br, "link", "set", w.hub_ifname, "up"});
    w.ifindex = ifindex_in(w.netns_path, w.ifname);
    w.hub_ifindex = ifindex_in(bridge_netns_path(), w.hub_ifname);
    w.mac = interface_mac(w.netns_path, w.ifname);
    // The kernel adds the link-local address once the link has carrier, which the link
    // watcher reports up to a second after the peer comes up.
    for (int tries = 0;; ++tries) {
        try {
            w.link_local = interface_link_local(w.netns_path, w.ifname);
            break;
        } catch (const std::runtime_error&) {
            if (tries == 300)
                throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
}

const Workload& BridgeLab::workload(const std::string& name) const {
    for (const auto& w : workloads_)
        if (w.name == name)
            return w;
    throw std::out_of_range("BridgeLab: no workload named " + name);
}

void BridgeLab::teardown() noexcept {
    for (auto it = created_netns_.rbegin(); it != created_netns_.rend(); ++it) {
        try {
            const ExecResult result = Lab::exec("", {"ip", "netns", "del", *it});
            if (!result.ok())
                std::cerr << "bridge_lab: `ip netns del " << *it << "`: " << result.err << '\n';
        } catch (const std::exception& e) {
            std::cerr << "bridge_lab: " << e.what() << '\n';
        }
    }
    created_netns_.clear();
    lock_.reset();
}

} // namespace flowwall::testing
