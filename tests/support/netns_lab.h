// SPDX-License-Identifier: Apache-2.0
//
// A throw-away network of namespaces for end-to-end tests: workloads ("containers") joined by
// veth pairs to one hub namespace that routes between them.
//
// Why a hub namespace and not the host: the host's FORWARD chain belongs to Docker (policy
// DROP) and to whoever else runs on the machine, so routing through it would make the tests
// depend on that state and could disturb it. The hub plays the host's part instead; its
// veth ends are what a container's host-side veth peer is, so the firewall under test attaches
// its TC programs there.
//
// Addresses come only from 198.18.0.0/15 (RFC 2544 benchmarking) and a ULA /64 under
// fd00:198:18::/48, so lab traffic can never leak to or collide with real networks.
//
// Everything a Lab creates lives inside its own namespaces, and the destructor deletes them, so
// a failing test (an exception or a failed ASSERT) leaves nothing behind. A test process that
// crashes does leave namespaces; Lab::remove_stale() removes those, and each live Lab holds a
// lock so that remove_stale() run by a parallel test never touches it.
#pragma once

#include "tests/support/lab_prefix.h"
#include "tests/support/packet_builder.h"

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowwall::testing {

// What Lab::exec() saw of a finished (or killed) command.
struct ExecResult {
    int exit_code = -1; // -1 when the command was killed by a signal or did not start
    bool timed_out = false;
    std::string out;
    std::string err;

    bool ok() const { return exit_code == 0 && !timed_out; }
};

// One workload of a Lab: a namespace with one interface, eth0, whose veth peer sits in the hub.
struct Workload {
    std::string name;       // as passed to add_workload()
    std::string netns;      // "<prefix>-<name>"
    std::string netns_path; // "/run/netns/<netns>"
    Address v4;
    Address v6;
    std::string ifname;         // inside the workload namespace: always "eth0"
    int ifindex = 0;            // of ifname, inside the workload namespace
    std::string hub_ifname;     // the veth peer inside the hub namespace, "<prefix><n>h"
    std::string hub_netns_path; // where hub_ifname is (BridgeLab: the bridge's namespace)
    int hub_ifindex = 0;        // of hub_ifname, inside the hub namespace
    // Filled by BridgeLab (bridge_lab.h), which needs them for L2 tests; zero from Lab.
    MacAddress mac{};   // of ifname
    Address link_local; // the kernel's fe80:: address of ifname
};

class Lab {
public:
    struct Options {
        // Which /24 of 198.18.0.0/15 (and which /64 under fd00:198:18::/48) the lab uses,
        // 0-511. Unset: derived from the prefix, so labs of parallel tests differ. Labs are
        // isolated from each other either way; distinct subnets only matter when one daemon
        // under test watches several labs at once.
        std::optional<unsigned> subnet;
    };

    // All lab names start with this; remove_stale() without an argument uses it too.
    static constexpr std::string_view kPrefixBase = "fwt";

    // Creates the hub namespace. Throws std::runtime_error when not root or when a step fails
    // (after removing what it had created).
    Lab();
    explicit Lab(Options options);
    ~Lab();

    Lab(const Lab&) = delete;
    Lab& operator=(const Lab&) = delete;

    // Adds a workload with the next free addresses of the lab's subnet.
    const Workload& add_workload(const std::string& name);
    // Adds a workload with the given addresses: v4 inside 198.18.0.0/15, v6 inside fd00::/8,
    // neither used already. `name` is [a-z0-9_-], at most 32 characters, not "hub".
    const Workload& add_workload(const std::string& name, const Address& v4, const Address& v6);

    // Throws std::out_of_range for an unknown name.
    const Workload& workload(const std::string& name) const;
    // References stay valid while the Lab lives (a deque never moves its elements on push_back).
    const std::deque<Workload>& workloads() const { return workloads_; }

    // "fwt" + 4 digits of the pid + 2 digits of a per-process counter, e.g. "fwt412307".
    const std::string& prefix() const { return prefix_; }
    const std::string& hub_netns() const { return hub_netns_; }
    std::string hub_netns_path() const { return netns_path(hub_netns_); }
    // The gateway address every workload routes through; each hub-side veth carries it.
    const Address& gateway_v4() const { return gateway_v4_; }
    const Address& gateway_v6() const { return gateway_v6_; }

    // "/run/netns/<netns>", where `ip netns add` mounts a namespace.
    static std::string netns_path(const std::string& netns);

    // Runs argv (argv[0] looked up in PATH) inside the named namespace, or in the caller's
    // namespace when `netns` is empty, capturing stdout and stderr. On timeout the command's
    // whole process group is killed. Throws only when the command cannot be started.
    static ExecResult exec(const std::string& netns, const std::vector<std::string>& argv,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Runs fn on a new thread that first joined the network namespace at `netns_path`, and
    // waits for it; an exception fn throws is rethrown here. A fresh thread because setns()
    // changes only the calling thread, and a thread that ends cannot leak its namespace into
    // later work.
    static void run_in_netns(const std::string& netns_path, const std::function<void()>& fn);

    // Deletes namespaces (under /run/netns) and host links whose names start with `prefix`,
    // except those of labs that are still alive in any process. Returns how many it deleted.
    static std::size_t remove_stale(const std::string& prefix = std::string(kPrefixBase));

private:
    void build_hub();
    void build_workload(Workload& workload);
    void teardown() noexcept;

    std::string prefix_;
    std::unique_ptr<LabPrefix> lock_; // held while the lab lives
    unsigned subnet_ = 0;
    Address gateway_v4_;
    Address gateway_v6_;
    std::string hub_netns_;
    // Every namespace created so far, deleted in reverse order by teardown().
    std::vector<std::string> created_netns_;
    std::deque<Workload> workloads_;
    int next_host_ = 2; // .1 / ::1 is the gateway
};

} // namespace flowwall::testing
