// SPDX-License-Identifier: Apache-2.0
// The server side of the comparison's load: answers every request (tool_support.h) on a set of
// ports until SIGTERM or SIGINT. Each thread has its own listening socket per port
// (SO_REUSEPORT, so the kernel spreads connections over the threads) and its own epoll loop.
// Prints "ready" on stdout once every port listens, so a caller can wait for it.
//
//   compare_server --listen IPV4 --ports 8080,8081 [--threads 2] [--message-bytes 64]
#include "bench/compare/tools/tool_support.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using namespace flowwall::bench;

constexpr std::string_view kUsage =
    "usage: compare_server --listen IPV4 --ports P1,P2,... [--threads 1..16] "
    "[--message-bytes 1..65536]";

std::atomic<bool> stopping{false};

struct Settings {
    in_addr listen{};
    std::vector<uint16_t> ports;
    int threads = 2;
    size_t message_bytes = kDefaultMessageBytes;
};

std::vector<uint16_t> parse_ports(const std::string& text) {
    std::vector<uint16_t> ports;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        char* end = nullptr;
        long port = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || port < 1 || port > 65535)
            throw std::invalid_argument("--ports: \"" + item + "\" is not a port (1..65535)");
        ports.push_back(static_cast<uint16_t>(port));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return ports;
}

UniqueFd listen_on(in_addr address, uint16_t port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        throw std::system_error(errno, std::generic_category(), "socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    bound.sin_addr = address;
    bound.sin_port = htons(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&bound), sizeof(bound)) != 0)
        throw std::system_error(errno, std::generic_category(),
                                "bind port " + std::to_string(port));
    if (::listen(fd.get(), 4096) != 0)
        throw std::system_error(errno, std::generic_category(), "listen");
    return fd;
}

// One thread's share of the connections: its listeners and the connections they accepted.
class ServerLoop {
public:
    explicit ServerLoop(const Settings& settings)
        : settings_(settings), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll_.valid())
            throw std::system_error(errno, std::generic_category(), "epoll_create1");
        answer_.assign(settings.message_bytes, 'a');
        for (uint16_t port : settings.ports) {
            listeners_.push_back(listen_on(settings.listen, port));
            watch(listeners_.back().get(), EPOLLIN);
        }
    }

    void run() {
        epoll_event events[256];
        while (!stopping.load(std::memory_order_relaxed)) {
            int ready = ::epoll_wait(epoll_.get(), events, 256, 100);
            for (int i = 0; i < ready; ++i) {
                int fd = events[i].data.fd;
                if (is_listener(fd))
                    accept_all(fd);
                else
                    serve(fd);
            }
        }
    }

private:
    struct Connection {
        UniqueFd fd;
        std::string request;
    };

    void watch(int fd, uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
            throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }

    bool is_listener(int fd) const {
        for (const auto& listener : listeners_)
            if (listener.get() == fd)
                return true;
        return false;
    }

    void accept_all(int listener) {
        for (;;) {
            int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0)
                return; // EAGAIN, or a connection reset before it was accepted
            set_nodelay(fd);
            Connection& connection = connections_[fd];
            connection.fd.reset(fd);
            connection.request.clear();
            watch(fd, EPOLLIN);
        }
    }

    // Reads what arrived; answers each complete request. A connection that ends, fails, or
    // cannot take a whole answer at once (it never happens with one small answer in flight)
    // is closed: its client counts the failure.
    void serve(int fd) {
        auto found = connections_.find(fd);
        if (found == connections_.end())
            return;
        Connection& connection = found->second;
        char buffer[4096];
        for (;;) {
            size_t wanted = settings_.message_bytes - connection.request.size();
            ssize_t got = ::read(fd, buffer, std::min(sizeof(buffer), wanted));
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (got <= 0) {
                connections_.erase(found); // closes, and leaves the epoll set with it
                return;
            }
            connection.request.append(buffer, size_t(got));
            if (connection.request.size() < settings_.message_bytes)
                continue;
            bool close_after = connection.request[0] == kCloseAfterAnswer;
            connection.request.clear();
            ssize_t sent = ::write(fd, answer_.data(), answer_.size());
            if (sent != ssize_t(answer_.size()) || close_after) {
                connections_.erase(found);
                return;
            }
        }
    }

    const Settings& settings_;
    UniqueFd epoll_;
    std::vector<UniqueFd> listeners_;
    std::unordered_map<int, Connection> connections_;
    std::string answer_;
};

} // namespace

int main(int argc, char** argv) {
    Settings settings;
    try {
        ToolArguments args(argc, argv, kUsage, {"listen", "ports", "threads", "message-bytes"});
        std::string listen = args.text("listen");
        if (::inet_pton(AF_INET, listen.c_str(), &settings.listen) != 1)
            throw std::invalid_argument("--listen \"" + listen + "\" is not an IPv4 address");
        settings.ports = parse_ports(args.text("ports"));
        settings.threads = int(args.number("threads", 2, 1, 16));
        settings.message_bytes =
            size_t(args.number("message-bytes", kDefaultMessageBytes, 1, kMaxMessageBytes));
    } catch (const std::invalid_argument& error) {
        usage_error(error.what());
    }

    // Only the main thread takes the stop signals; the loops look at the flag every 100 ms.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    try {
        std::vector<std::unique_ptr<ServerLoop>> loops;
        for (int i = 0; i < settings.threads; ++i)
            loops.push_back(std::make_unique<ServerLoop>(settings));
        std::vector<std::thread> threads;
        for (auto& loop : loops)
            threads.emplace_back([&loop] { loop->run(); });
        std::printf("ready\n");
        std::fflush(stdout);
        int signal = 0;
        ::sigwait(&stop_signals, &signal);
        stopping = true;
        for (auto& thread : threads)
            thread.join();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "compare_server: %s\n", error.what());
        return 1;
    }
    return 0;
}
