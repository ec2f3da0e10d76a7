// SPDX-License-Identifier: Apache-2.0
//
// The scene of issue 13's attacks: web, api, db and an intruder on a copy of Docker's default
// bridge (BridgeLab), db serving 5432/tcp and 53/udp on every address it has (wildcard
// sockets, so a datagram to a broadcast, multicast or link-local address reaches them too), the
// node serving 9999/tcp on the bridge's addresses, and a flowwalld inside the bridge namespace
// (guarding the veth peers there, as on Docker) in block mode with the model
// web -> db 5432/tcp, web -> db 53/udp, api -> db 5432/tcp.
//
// What the attack tests read: how many connections and datagrams reached each application
// socket, the datapath's counters by name (the pinned stats map), and the audit log.
#pragma once

#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/bridge_lab.h"
#include "tests/support/traffic.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace flowwall::testing {

class SpoofingScene {
public:
    static constexpr uint16_t kDbPort = 5432;
    static constexpr uint16_t kDnsPort = 53;
    static constexpr uint16_t kNodePort = 9999;

    SpoofingScene();
    ~SpoofingScene();

    // Starts flowwalld in block mode with the three flows, and waits until every workload
    // interface is guarded and every identity blocks.
    void start_daemon();
    bool daemon_running() const { return daemon_ != nullptr; }
    DaemonProcess& daemon() { return *daemon_; }

    BridgeLab& lab() { return lab_; }
    const Workload& web() const { return *web_; }
    const Workload& api() const { return *api_; }
    const Workload& db() const { return *db_; }
    const Workload& intruder() const { return *intruder_; }

    // Connections db's TCP sockets accepted plus datagrams its UDP sockets received.
    size_t db_reached() const;
    size_t db_udp_received() const;
    size_t node_accepted() const;
    // Closes db's UDP sockets: a datagram to db:53 then gets an ICMP port unreachable.
    void stop_db_udp();

private:
    BridgeLab lab_;
    const Workload* web_;
    const Workload* api_;
    const Workload* db_;
    const Workload* intruder_;
    std::vector<std::unique_ptr<TcpServer>> db_tcp_;
    std::vector<std::unique_ptr<UdpEchoServer>> db_udp_;
    std::vector<std::unique_ptr<TcpServer>> node_tcp_;
    std::filesystem::path endpoints_file_;
    std::unique_ptr<DaemonProcess> daemon_;
};

// Attack helpers: what a root process in a workload does with its own network stack.

// A TCP connection (with echo) between link-local addresses over the workload's eth0.
bool link_local_tcp(const Workload& from, const Address& src, const Address& dst, uint16_t port,
                    std::chrono::milliseconds timeout);
// One UDP datagram from src to dst (link-local addresses are scoped to eth0).
void send_udp(const Workload& from, const Address& src, const Address& dst, uint16_t port);

// Runs `ip -n <netns> <args...>`; throws when it fails.
void ip(const Workload& in, const std::vector<std::string>& args);
std::string ip_output(const Workload& in, const std::vector<std::string>& args);

// Waits up to `timeout` for `count()` to grow past `before`.
bool grows(const std::function<size_t()>& count, size_t before,
           std::chrono::milliseconds timeout = std::chrono::milliseconds(300));

} // namespace flowwall::testing
