// SPDX-License-Identifier: Apache-2.0
// A single-node Docker Swarm of the test's own, for the Swarm end-to-end test: a dockerd
// started by the test in a network namespace of its own (its socket, data root, exec root and
// containerd under a temporary directory), `docker swarm init` advertising an address of that
// namespace, busybox images imported locally, an overlay network and services on it.
//
// Why a dockerd of its own, in a namespace of its own: swarm mode changes the daemon (an
// ingress network, docker_gwbridge, iptables rules, VXLAN devices), and a flowwalld following
// the shared test dockerd (tests/support/docker_host.h) would see another suite's containers.
// Here everything Docker makes on the "host" side (docker0, docker_gwbridge and the task
// peers on it, its iptables rules) stays in the lab's namespace; the flowwalld under test runs
// in the same namespace (DaemonProcess::set_netns), as it would on a Swarm host.
//
// Addresses (all in 198.18.0.0/15, private to the lab's namespace): 198.18.200.1/24 the
// advertise address, 198.18.201.0/24 docker0, 198.18.202.0/23 local networks
// (docker_gwbridge), 198.18.204.0/22 swarm-scope networks (the ingress network) and
// 198.18.208.0/24 the test's overlay network.
//
// The destructor removes everything even when the test failed: services, networks (the
// ingress network too), the swarm (left with --force), dockerd and its containerd and shims,
// their mounts, the directory and the namespace. It also removes what an earlier run that
// crashed left behind (labs whose owner pid is gone).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/netns_lab.h"

namespace flowwall::testing {

class SwarmLab {
public:
    // Starts dockerd and makes it a swarm manager. Throws std::runtime_error saying what
    // failed (with the end of dockerd's log) when dockerd or swarm mode cannot start.
    SwarmLab();
    ~SwarmLab();
    SwarmLab(const SwarmLab&) = delete;
    SwarmLab& operator=(const SwarmLab&) = delete;

    const std::string& socket() const { return socket_; }
    // "/run/netns/fwsw<pid>": where dockerd (and the flowwalld under test) run.
    std::string netns_path() const;
    static constexpr const char* kOverlaySubnet = "198.18.208.0/24";
    static constexpr const char* kGatewayBridgeAddress = "198.18.202.1";

    // `docker --host <lab socket> <args>`; a non-zero exit throws with the command's stderr.
    // Returns stdout without its trailing newline.
    std::string docker_ok(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
    ExecResult docker(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

    // Imports the busybox image `name` ("flowwall-test/web:1") into the lab's dockerd.
    void import_image(const std::string& name) const;
    // An overlay network on kOverlaySubnet; returns its name.
    std::string create_overlay_network(const std::string& name);
    // `docker service create` of one replica with DNS round robin (a service VIP is IPVS in
    // the overlay's namespace, which does not work on the test machines), waiting (bounded) until
    // its task runs. Returns the id of the task's container.
    std::string create_service(const std::string& name, const std::string& network,
                               const std::string& image, const std::vector<std::string>& command);
    // The task container's IPv4 address on `network`.
    std::string task_address(const std::string& container, const std::string& network) const;

    // Removes the services and networks, leaves the swarm (--force: the ingress network and
    // the swarm state go) and removes what containers remain; dockerd keeps running. The
    // destructor does it too.
    void leave_swarm() noexcept;

    std::string log() const;

private:
    void start_dockerd();
    void stop_dockerd() noexcept;
    void teardown() noexcept;

    std::filesystem::path dir_;
    std::string netns_;
    std::string socket_;
    pid_t dockerd_pid_ = -1;
    std::vector<std::string> networks_; // overlay networks the test made
};

} // namespace flowwall::testing
