// SPDX-License-Identifier: Apache-2.0
// Helpers of the control API tests: a private temporary directory for sockets, and a raw
// client that speaks bytes rather than HTTP, for what libcurl would never send (slow, partial,
// oversized or malformed requests). Every wait is bounded.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "src/api/unix_http_server.h"
#include "src/common/unique_fd.h"
#include "tests/support/temp_dir.h"

namespace flowwall::api::testing {

using flowwall::testing::TempDir;

// A server on `socket` that lets this test's own uid in (tests run unprivileged). A failure to
// start is a test failure, and nullptr.
inline std::unique_ptr<UnixHttpServer> start_test_server(const std::filesystem::path& socket,
                                                         UnixHttpServer::Handler handler,
                                                         UnixHttpServer::Options options) {
    auto server = UnixHttpServer::start(socket, std::move(handler), options);
    if (!server)
        ADD_FAILURE() << server.error().to_string();
    return server ? std::move(server).value() : nullptr;
}

inline sockaddr_un address_of(const std::filesystem::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    return address;
}

// A socket file that nothing accepts on: what a crashed daemon leaves behind.
inline void make_dead_socket(const std::filesystem::path& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address = address_of(path);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throw std::runtime_error("bind " + path.string() + ": " + std::strerror(errno));
}

class RawConnection {
public:
    explicit RawConnection(const std::filesystem::path& path)
        : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un address = address_of(path);
        if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("connect " + path.string() + ": " + std::strerror(errno));
    }

    // False when the server has closed its side (EPIPE, ECONNRESET).
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t sent = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (sent <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(sent));
        }
        return true;
    }

    // Everything the server sends until it closes, or until timeout.
    std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::string out;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        char buffer[16384];
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return out;
            pollfd peer{fd_.get(), POLLIN, 0};
            if (::poll(&peer, 1, static_cast<int>(left.count()) + 1) <= 0)
                return out;
            ssize_t got = ::recv(fd_.get(), buffer, sizeof buffer, 0);
            if (got <= 0)
                return out;
            out.append(buffer, static_cast<std::size_t>(got));
        }
    }

    // Whether the server has sent anything (or closed) right now, without waiting.
    bool readable_now() {
        pollfd peer{fd_.get(), POLLIN, 0};
        return ::poll(&peer, 1, 0) > 0;
    }

    void close() { fd_.reset(); }

private:
    UniqueFd fd_;
};

// One request, the whole answer.
inline std::string raw_exchange(const std::filesystem::path& path, std::string_view request,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    RawConnection connection(path);
    connection.send(request);
    return connection.read_all(timeout);
}

} // namespace flowwall::api::testing
