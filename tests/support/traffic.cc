// SPDX-License-Identifier: Apache-2.0
#include "tests/support/traffic.h"

#include "tests/support/netns_lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace flowwall::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connection may not hold the (single-threaded) TCP server longer than this, nor make it
// echo more than this, so a client that never closes cannot stall the servers of a test.
constexpr milliseconds kConnectionBudget{1000};
constexpr std::size_t kMaxEchoBytes = 64 * 1024;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string errno_text(const std::string& what, int error) {
    return what + ": " + std::strerror(error);
}

// Closes a descriptor on every path out of the exchange functions.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return fd_; }

private:
    int fd_;
};

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SocketAddress to_sockaddr(const Address& address, uint16_t port) {
    SocketAddress out;
    if (address.family() == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, address.bytes.data(), 4);
        out.length = sizeof(sockaddr_in);
    } else if (address.family() == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
        out.length = sizeof(sockaddr_in6);
    } else {
        throw std::invalid_argument("traffic: address has no family");
    }
    return out;
}

// A socket of the given namespace; see the top of traffic.h for why only this step needs it.
int socket_in_netns(const std::string& netns_path, int family, int type) {
    int fd = -1;
    Lab::run_in_netns(netns_path, [&] {
        fd = ::socket(family, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw_errno("socket");
        }
    });
    return fd;
}

milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<milliseconds::rep>(0, left.count()));
}

// Polls one descriptor until `events` or the deadline; returns revents, 0 on timeout.
short wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd pfd{fd, events, 0};
        const int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        return ready > 0 ? pfd.revents : 0;
    }
}

// Unique per call, so a late reply to an earlier exchange is never taken for this one's.
std::string make_payload() {
    static std::atomic<unsigned> counter{0};
    return "flowwall-lab-probe " + std::to_string(::getpid()) + "-" +
           std::to_string(counter.fetch_add(1)) + "\n";
}

} // namespace

namespace detail {

ServerSocket::ServerSocket(const std::string& netns_path, const Address& address, uint16_t port,
                           int type) {
    fd_ = socket_in_netns(netns_path, address.family(), type | SOCK_NONBLOCK);
    try {
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (address.family() == AF_INET6) {
            ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        const SocketAddress bind_to = to_sockaddr(address, port);
        if (::bind(fd_, bind_to.get(), bind_to.length) != 0) {
            throw_errno("bind " + address.str() + ":" + std::to_string(port));
        }
        SocketAddress bound;
        bound.length = sizeof(bound.storage);
        if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound.storage), &bound.length) != 0) {
            throw_errno("getsockname");
        }
        port_ = ntohs(address.family() == AF_INET
                          ? reinterpret_cast<const sockaddr_in*>(&bound.storage)->sin_port
                          : reinterpret_cast<const sockaddr_in6*>(&bound.storage)->sin6_port);
        stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_fd_ < 0) {
            throw_errno("eventfd");
        }
    } catch (...) {
        stop();
        throw;
    }
}

ServerSocket::~ServerSocket() {
    stop();
}

void ServerSocket::stop() {
    if (thread_.joinable()) {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof(one));
        thread_.join();
    }
    for (int* fd : {&fd_, &stop_fd_}) {
        if (*fd >= 0) {
            ::close(*fd);
            *fd = -1;
        }
    }
}

bool ServerSocket::wait_readable(int fd, milliseconds timeout) const {
    const int timeout_ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
    for (;;) {
        std::array<pollfd, 2> fds{{{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
        const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        return ready > 0 && fds[1].revents == 0 && fds[0].revents != 0;
    }
}

} // namespace detail

TcpServer::TcpServer(const std::string& netns_path, const Address& address, uint16_t port)
    : ServerSocket(netns_path, address, port, SOCK_STREAM) {
    if (::listen(fd_, 64) != 0) {
        const int error = errno;
        stop();
        throw std::system_error(error, std::generic_category(), "listen");
    }
    thread_ = std::thread([this] { serve(); });
}

// Stops here, not only in the base: the thread uses this class's members.
TcpServer::~TcpServer() {
    stop();
}

void TcpServer::serve() {
    while (wait_readable(fd_, milliseconds(-1))) {
        const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (connection < 0) {
            continue; // the client gave up in between, or EINTR
        }
        ++accepted_;
        echo(connection);
        ::close(connection);
    }
}

void TcpServer::echo(int connection) const {
    const auto deadline = Clock::now() + kConnectionBudget;
    std::size_t total = 0;
    while (total < kMaxEchoBytes &&
           wait_readable(connection, milliseconds(remaining_ms(deadline)))) {
        std::array<char, 2048> buffer{};
        const ssize_t n = ::recv(connection, buffer.data(), buffer.size(), 0);
        if (n <= 0) {
            return; // the client closed (or reset) the connection
        }
        // Probe payloads are tiny, so the socket buffer always takes them whole.
        if (::send(connection, buffer.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) {
            return;
        }
        total += static_cast<std::size_t>(n);
    }
}

UdpEchoServer::UdpEchoServer(const std::string& netns_path, const Address& address, uint16_t port)
    : ServerSocket(netns_path, address, port, SOCK_DGRAM) {
    thread_ = std::thread([this] { serve(); });
}

UdpEchoServer::~UdpEchoServer() {
    stop();
}

void UdpEchoServer::serve() {
    while (wait_readable(fd_, milliseconds(-1))) {
        std::array<char, 2048> buffer{};
        sockaddr_storage peer{};
        socklen_t peer_length = sizeof(peer);
        const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                     reinterpret_cast<sockaddr*>(&peer), &peer_length);
        if (n < 0) {
            continue;
        }
        ++received_;
        ::sendto(fd_, buffer.data(), static_cast<std::size_t>(n), 0,
                 reinterpret_cast<const sockaddr*>(&peer), peer_length);
    }
}

TcpResult tcp_connect(const std::string& netns_path, const std::optional<Address>& src,
                      const Address& dst, uint16_t port, milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    TcpResult result;
    const auto finish = [&](std::string error) {
        result.error = std::move(error);
        result.elapsed = since(start);
        return result;
    };

    Fd fd(socket_in_netns(netns_path, dst.family(), SOCK_STREAM | SOCK_NONBLOCK));
    if (src) {
        const SocketAddress from = to_sockaddr(*src, 0);
        if (::bind(fd.get(), from.get(), from.length) != 0) {
            throw_errno("bind " + src->str() + " in " + netns_path);
        }
    }

    const SocketAddress to = to_sockaddr(dst, port);
    if (::connect(fd.get(), to.get(), to.length) != 0) {
        if (errno != EINPROGRESS) {
            return finish(errno_text("connect", errno));
        }
        if (wait_for(fd.get(), POLLOUT, deadline) == 0) {
            return finish("connect: no answer within " + std::to_string(timeout.count()) + " ms");
        }
        int error = 0;
        socklen_t length = sizeof(error);
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            return finish(errno_text("connect", error));
        }
    }
    result.connected = true;

    const std::string payload = make_payload();
    if (::send(fd.get(), payload.data(), payload.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(payload.size())) {
        return finish(errno_text("send", errno));
    }
    std::string reply;
    while (reply.size() < payload.size()) {
        if (wait_for(fd.get(), POLLIN, deadline) == 0) {
            return finish("no echo within " + std::to_string(timeout.count()) + " ms");
        }
        std::array<char, 2048> buffer{};
        const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            return finish(n == 0 ? "connection closed before the echo" : errno_text("recv", errno));
        }
        reply.append(buffer.data(), static_cast<std::size_t>(n));
    }
    result.echoed = reply == payload;
    return finish(result.echoed ? "" : "echo differs from what was sent");
}

TcpResult tcp_connect(const std::string& netns_path, const Address& dst, uint16_t port,
                      milliseconds timeout) {
    return tcp_connect(netns_path, std::nullopt, dst, port, timeout);
}

UdpResult udp_exchange(const std::string& netns_path, const Address& dst, uint16_t port,
                       milliseconds timeout) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    UdpResult result;
    const auto finish = [&](std::string error) {
        result.error = std::move(error);
        result.elapsed = since(start);
        return result;
    };

    Fd fd(socket_in_netns(netns_path, dst.family(), SOCK_DGRAM | SOCK_NONBLOCK));
    // A connected UDP socket receives only the peer's datagrams and reports its ICMP port
    // unreachable as ECONNREFUSED, so a closed port fails at once instead of timing out.
    const SocketAddress to = to_sockaddr(dst, port);
    if (::connect(fd.get(), to.get(), to.length) != 0) {
        return finish(errno_text("connect", errno));
    }
    const std::string payload = make_payload();
    if (::send(fd.get(), payload.data(), payload.size(), 0) !=
        static_cast<ssize_t>(payload.size())) {
        return finish(errno_text("send", errno));
    }
    result.sent = true;

    // Bounded by the deadline; each pass reads one datagram.
    while (wait_for(fd.get(), POLLIN, deadline) != 0) {
        std::array<char, 2048> buffer{};
        const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            return finish(errno_text("recv", errno));
        }
        if (std::string(buffer.data(), static_cast<std::size_t>(n)) == payload) {
            result.reply_received = true;
            return finish("");
        }
    }
    return finish("no reply within " + std::to_string(timeout.count()) + " ms");
}

int count_successes(int attempts, const std::function<bool()>& attempt, milliseconds budget) {
    const auto deadline = Clock::now() + budget;
    int successes = 0;
    for (int i = 0; i < attempts && Clock::now() < deadline; ++i) {
        successes += attempt() ? 1 : 0;
    }
    return successes;
}

} // namespace flowwall::testing
