// SPDX-License-Identifier: Apache-2.0
//
// Real TCP and UDP traffic between the workloads of a Lab (tests/support/netns_lab.h), made with
// plain sockets so the e2e tests depend on no tool like nc.
//
// A socket belongs to the network namespace it was created in, for its whole life, whichever
// thread later uses it. So only socket() runs on a thread that entered the workload's
// namespace (Lab::run_in_netns); bind, connect, accept and I/O then run on ordinary threads.
//
// Every exchange is bounded: one small payload per connection or datagram and a deadline for
// the whole exchange. Checks that expect a flow to be denied use kDenyTimeout, so a dropped
// flow costs about a second. Network outcomes (refused, timed out, no echo) come back in the
// result; misuse of the harness (a bad namespace path, a source address the namespace does not
// own) throws, so a broken test cannot pass as "traffic was blocked".
#pragma once

#include "tests/support/packet_builder.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace flowwall::testing {

// For flows expected to fail: long enough for a reply on a local veth, short enough that many
// denied checks stay cheap.
inline constexpr std::chrono::milliseconds kDenyTimeout{1000};
// For flows expected to succeed: room for first-packet ARP/NDP and a loaded CI machine.
inline constexpr std::chrono::milliseconds kAllowTimeout{3000};

struct TcpResult {
    bool connected = false; // the handshake completed
    bool echoed = false;    // the payload came back intact, so the reply direction works too
    std::string error;      // why not, when !ok()
    std::chrono::milliseconds elapsed{0};

    bool ok() const { return connected && echoed; }
};

struct UdpResult {
    bool sent = false;
    bool reply_received = false; // the same payload came back
    std::string error;
    std::chrono::milliseconds elapsed{0};

    bool ok() const { return sent && reply_received; }
};

namespace detail {

// What both echo servers share: a bound socket made inside a namespace, and a stop signal that
// wakes the serving thread at once.
class ServerSocket {
public:
    ServerSocket(const ServerSocket&) = delete;
    ServerSocket& operator=(const ServerSocket&) = delete;

    // The bound port: the one asked for, or the one the kernel picked for port 0.
    uint16_t port() const { return port_; }
    // Stops serving and closes the socket; idempotent. Returns once the thread has ended.
    void stop();

protected:
    ServerSocket(const std::string& netns_path, const Address& address, uint16_t port, int type);
    ~ServerSocket();

    // Waits until `fd` is readable; false on stop or after `timeout` (negative: no limit).
    bool wait_readable(int fd, std::chrono::milliseconds timeout) const;

    int fd_ = -1;
    int stop_fd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
};

} // namespace detail

// Listens on address:port inside a namespace and echoes what each connection sends, then
// closes it. Connections are served one after another, each for at most about a second.
class TcpServer : public detail::ServerSocket {
public:
    TcpServer(const std::string& netns_path, const Address& address, uint16_t port = 0);
    ~TcpServer();

    std::size_t accepted() const { return accepted_.load(); }

private:
    void serve();
    void echo(int connection) const;

    std::atomic<std::size_t> accepted_{0};
};

// Binds address:port inside a namespace and sends every datagram back to its sender.
class UdpEchoServer : public detail::ServerSocket {
public:
    UdpEchoServer(const std::string& netns_path, const Address& address, uint16_t port = 0);
    ~UdpEchoServer();

    std::size_t received() const { return received_.load(); }

private:
    void serve();

    std::atomic<std::size_t> received_{0};
};

// Connects from inside `netns_path` to dst:port (optionally from `src`), sends a small
// payload and waits for it to come back, all within `timeout`.
TcpResult tcp_connect(const std::string& netns_path, const std::optional<Address>& src,
                      const Address& dst, uint16_t port,
                      std::chrono::milliseconds timeout = kDenyTimeout);
TcpResult tcp_connect(const std::string& netns_path, const Address& dst, uint16_t port,
                      std::chrono::milliseconds timeout = kDenyTimeout);

// Sends one datagram from inside `netns_path` to dst:port and waits up to `timeout` for the
// same bytes to come back. An ICMP port unreachable ends the wait early.
UdpResult udp_exchange(const std::string& netns_path, const Address& dst, uint16_t port,
                       std::chrono::milliseconds timeout = kDenyTimeout);

// Calls `attempt` up to `attempts` times, stopping early once `budget` has passed, and returns
// how many calls returned true.
int count_successes(int attempts, const std::function<bool()>& attempt,
                    std::chrono::milliseconds budget = std::chrono::seconds(30));

} // namespace flowwall::testing
