// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/docker/fake_docker.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace flowwall::testing {

namespace {

using namespace std::chrono_literals;

bool send_all(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += size_t(n);
    }
    return true;
}

// The peer closed (or reset) the connection.
bool hung_up(int fd) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

const char* reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    default:
        return "Status";
    }
}

} // namespace

FakeDocker::FakeDocker() {
    char tmpl[] = "/tmp/flowwall-fake-docker-XXXXXX";
    if (!::mkdtemp(tmpl))
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = tmpl;
    socket_path_ = dir_ + "/docker.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path_.c_str());
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ||
        ::listen(listen_fd_, 64))
        throw std::runtime_error(std::string("fake docker socket: ") + std::strerror(errno));
    acceptor_ = std::thread([this] { accept_loop(); });
}

FakeDocker::~FakeDocker() {
    stopping_ = true;
    changed_.notify_all();
    acceptor_.join();
    std::vector<std::thread> connections;
    {
        std::lock_guard lock(mutex_);
        connections.swap(connections_);
    }
    for (auto& t : connections)
        t.join();
    ::close(listen_fd_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void FakeDocker::set(const std::string& path, int status, std::string body) {
    std::lock_guard lock(mutex_);
    answers_[path] = Answer{status, std::move(body)};
}

void FakeDocker::push_event(const std::string& line) {
    {
        std::lock_guard lock(mutex_);
        events_.push_back(line);
    }
    changed_.notify_all();
}

void FakeDocker::close_streams() {
    {
        std::lock_guard lock(mutex_);
        ++stream_generation_;
    }
    changed_.notify_all();
}

std::vector<std::string> FakeDocker::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void FakeDocker::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0)
            continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        std::lock_guard lock(mutex_);
        connections_.emplace_back([this, fd] {
            serve(fd);
            ::close(fd);
        });
    }
}

void FakeDocker::serve(int fd) {
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
        if (stopping_)
            return;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0)
            continue;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return;
        head.append(buf, size_t(n));
    }
    // "GET /v1.41/containers/json HTTP/1.1"
    const size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string path = target.substr(0, target.find('?'));
    if (path.starts_with("/v1.41"))
        path.erase(0, 6);
    std::optional<Answer> answer;
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(target);
        if (auto it = answers_.find(path); it != answers_.end())
            answer = it->second;
    }
    if (path == "/events" && !answer) {
        serve_stream(fd);
        return;
    }
    if (!answer)
        answer = Answer{404, R"({"message":"No such container: )" + path + "\"}"};
    if (answer->status == 0) {
        std::unique_lock lock(mutex_);
        while (!stopping_)
            changed_.wait_for(lock, 20ms);
        return;
    }
    send_all(fd, "HTTP/1.1 " + std::to_string(answer->status) + " " + reason(answer->status) +
                     "\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(answer->body.size()) + "\r\nConnection: close\r\n\r\n" +
                     answer->body);
}

void FakeDocker::serve_stream(int fd) {
    ++open_streams_;
    std::unique_lock lock(mutex_);
    const uint64_t generation = stream_generation_;
    size_t sent = 0;
    lock.unlock();
    bool alive = send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n");
    lock.lock();
    while (alive && !stopping_ && generation == stream_generation_) {
        if (sent < events_.size()) {
            const std::string line = events_[sent++] + "\n";
            lock.unlock();
            char size[32];
            std::snprintf(size, sizeof(size), "%zx\r\n", line.size());
            alive = send_all(fd, size + line + "\r\n");
            lock.lock();
            continue;
        }
        changed_.wait_for(lock, 20ms);
        if (hung_up(fd))
            break;
    }
    lock.unlock();
    if (alive && !stopping_)
        send_all(fd, "0\r\n\r\n");
    --open_streams_;
}

} // namespace flowwall::testing
