// SPDX-License-Identifier: Apache-2.0
//
// A lab that copies Docker's default network: one Linux bridge (br0) in a bridge namespace
// that plays the host, every workload's host-side veth peer a port of it, and the workloads on
// one shared L2 segment (a /24 and a /64, like docker0) with the bridge's address as their
// gateway. So workloads reach each other straight over L2 (ARP and neighbour discovery between
// them, broadcast and multicast flooded to every port), which the routed Lab (netns_lab.h)
// never lets happen, and which is what an attacker inside a Docker container works with.
//
// A flowwalld that runs inside the bridge namespace (DaemonProcess::set_netns) finds the
// workloads' veth peers in its own namespace and guards them there, as it does on Docker.
//
// Addresses: 198.18.0.0/15 and fd00:198:18::/48 only, as for Lab; each workload also keeps the
// link-local address the kernel gives its eth0 (DAD off, so it is usable at once). Everything
// lives in the lab's namespaces and goes with them; names share Lab's prefix, so
// Lab::remove_stale() also removes what a crashed BridgeLab test left.
#pragma once

#include "tests/support/lab_prefix.h"
#include "tests/support/netns_lab.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace flowwall::testing {

class BridgeLab {
public:
    // Creates the bridge namespace with br0 up and addressed. Throws when not root or when a
    // step fails (after removing what it had created).
    BridgeLab();
    ~BridgeLab();
    BridgeLab(const BridgeLab&) = delete;
    BridgeLab& operator=(const BridgeLab&) = delete;

    // Adds a workload on the bridge with the next free addresses (/24 and /64 on eth0, default
    // routes via the bridge); Workload::hub_ifname is its port on br0, and mac and link_local
    // are filled. `name` as for Lab::add_workload.
    const Workload& add_workload(const std::string& name);
    const Workload& workload(const std::string& name) const;
    const std::deque<Workload>& workloads() const { return workloads_; }

    const std::string& prefix() const { return prefix_; }
    const std::string& bridge_netns() const { return bridge_netns_; }
    std::string bridge_netns_path() const { return Lab::netns_path(bridge_netns_); }
    static constexpr const char* kBridge = "br0";
    // br0's addresses: the workloads' gateway, and the node's own services.
    const Address& gateway_v4() const { return gateway_v4_; }
    const Address& gateway_v6() const { return gateway_v6_; }
    // An address of the lab's /24 (host 1-254) and /64, owned or not.
    Address subnet_v4(int host) const;
    Address subnet_v6(int host) const;
    Address broadcast_v4() const { return subnet_v4(255); }

private:
    void build_workload(Workload& workload);
    void teardown() noexcept;

    std::unique_ptr<LabPrefix> lock_;
    std::string prefix_;
    unsigned subnet_ = 0;
    std::string bridge_netns_;
    Address gateway_v4_;
    Address gateway_v6_;
    std::vector<std::string> created_netns_;
    std::deque<Workload> workloads_;
};

// The MAC and the link-local (fe80::) address of `ifname` inside a namespace, read from the
// kernel (getifaddrs in that namespace). Throws when the interface has either missing.
MacAddress interface_mac(const std::string& netns_path, const std::string& ifname);
Address interface_link_local(const std::string& netns_path, const std::string& ifname);

} // namespace flowwall::testing
