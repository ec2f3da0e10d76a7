// SPDX-License-Identifier: Apache-2.0
#include "tests/support/feed_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>

namespace flowwall::testing {

FeedServer::FeedServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (listen_fd_ < 0 || wake_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("FeedServer: cannot listen on 127.0.0.1");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
}

FeedServer::~FeedServer() {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_fd_);
}

std::string FeedServer::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FeedServer::set_body(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
}

void FeedServer::set_status(int status) {
    std::lock_guard lock(mutex_);
    status_ = status;
}

void FeedServer::set_delay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_ = delay;
}

std::string FeedServer::etag() const {
    std::lock_guard lock(mutex_);
    return "\"" + std::to_string(std::hash<std::string>{}(body_)) + "\"";
}

void FeedServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0)
            continue;
        if (fds[1].revents)
            return;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        answer(fd);
        ::close(fd);
    }
}

void FeedServer::answer(int fd) {
    // Read the request head (bounded in size and time).
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, 5000) <= 0 || fds[1].revents)
            return;
        ssize_t got = ::read(fd, buffer, sizeof(buffer));
        if (got <= 0)
            return;
        request.append(buffer, static_cast<size_t>(got));
    }
    ++requests_;
    std::string body, etag;
    int status;
    std::chrono::milliseconds delay;
    {
        std::lock_guard lock(mutex_);
        body = body_;
        status = status_;
        delay = delay_;
    }
    etag = this->etag();
    if (delay.count() > 0) {
        pollfd wake{wake_fd_, POLLIN, 0};
        if (::poll(&wake, 1, static_cast<int>(delay.count())) > 0)
            return;
    }
    std::string response;
    std::string lower = request;
    for (char& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (status == 200 && lower.find("if-none-match: " + etag) != std::string::npos) {
        ++not_modified_;
        response = "HTTP/1.1 304 Not Modified\r\nETag: " + etag + "\r\nConnection: close\r\n\r\n";
    } else if (status == 200) {
        response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nETag: " + etag +
                   "\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\nConnection: close\r\n\r\n" + body;
    } else {
        std::string page = "error " + std::to_string(status) + "\n";
        response = "HTTP/1.1 " + std::to_string(status) +
                   " Error\r\nContent-Length: " + std::to_string(page.size()) +
                   "\r\nConnection: close\r\n\r\n" + page;
    }
    size_t sent = 0;
    while (sent < response.size()) {
        ssize_t wrote = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (wrote <= 0)
            return;
        sent += static_cast<size_t>(wrote);
    }
}

} // namespace flowwall::testing
