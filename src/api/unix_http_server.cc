// SPDX-License-Identifier: Apache-2.0
#include "src/api/unix_http_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace flowwall::api {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxLingerBytes = 8 * 1024 * 1024;
constexpr std::chrono::milliseconds kMaxLinger{1000};

// Milliseconds left until deadline, rounded up so a sub-millisecond rest does not spin.
int millis_until(Clock::time_point deadline) {
    auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero())
        return 0;
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1;
    return static_cast<int>(std::min<long long>(millis, 1'000'000));
}

// MSG_NOSIGNAL everywhere: a client that hangs up must cost an EPIPE, not the daemon's life.
bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return false; // EAGAIN here means SO_SNDTIMEO expired: the client does not read
        }
        bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
}

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string& text = path.native();
    if (text.empty() || text.size() >= sizeof(address.sun_path))
        return Error{ENAMETOOLONG, "control socket path \"" + text + "\" must be 1 to " +
                                       std::to_string(sizeof(address.sun_path) - 1) +
                                       " bytes long"};
    std::memcpy(address.sun_path, text.data(), text.size());
    return address;
}

Status make_parent_dirs(const std::filesystem::path& dir) {
    std::filesystem::path current;
    for (const auto& part : dir) {
        current /= part;
        if (::mkdir(current.c_str(), 0755) != 0 && errno != EEXIST)
            return Error::from_errno(errno, "cannot create " + current.string() +
                                                " for the control socket");
    }
    return {};
}

// A socket file left by a daemon that died is removed; one a live daemon listens on is not:
// starting a second daemon must fail loudly, not silently steal the first one's socket.
Status clear_stale_socket(const std::filesystem::path& path, const sockaddr_un& address) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT)
            return {};
        return Error::from_errno(errno, "cannot inspect " + path.string());
    }
    if (!S_ISSOCK(st.st_mode))
        return Error{EEXIST, path.string() + " exists and is not a socket: remove it or "
                                             "choose another control socket path"};
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!probe.valid())
        return Error::from_errno(errno, "cannot create a socket to probe " + path.string());
    // A live listener with a full backlog makes connect() block: bound the wait.
    timeval timeout{1, 0};
    ::setsockopt(probe.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 ||
        errno == EAGAIN)
        return Error{EADDRINUSE, "another flowwalld is already running on " + path.string()};
    if (errno != ECONNREFUSED)
        return Error::from_errno(errno, "cannot tell whether " + path.string() + " is in use");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return Error::from_errno(errno, "cannot remove the stale socket " + path.string());
    spdlog::info("control API: removed stale socket {} (nothing listened on it)", path.string());
    return {};
}

// Over capacity: answer without a thread and without blocking the accept loop.
void reject_busy(int fd, std::size_t limit) {
    std::array<char, 4096> sink{};
    for (int i = 0; i < 16 && ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) > 0; ++i) {
    }
    std::string reply = format_response(
        error_response(503, "flowwalld is busy: " + std::to_string(limit) +
                                " control requests are in progress; retry in a moment"));
    ::send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
}

} // namespace

class UnixHttpServer::StreamWriter : public BodyWriter {
public:
    StreamWriter(const std::atomic<bool>& stopping, int fd) : stopping_(stopping), fd_(fd) {}

    bool write(std::string_view bytes) override { return !stopping_ && send_all(fd_, bytes); }

    bool alive() override {
        if (stopping_)
            return false;
        pollfd peer{fd_, POLLRDHUP, 0};
        return ::poll(&peer, 1, 0) <= 0 || (peer.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
    }

private:
    const std::atomic<bool>& stopping_;
    int fd_;
};

UnixHttpServer::UnixHttpServer(std::filesystem::path path, Handler handler, Options options)
    : path_(std::move(path)), handler_(std::move(handler)), options_(options) {}

UnixHttpServer::~UnixHttpServer() {
    stop();
}

Result<std::unique_ptr<UnixHttpServer>> UnixHttpServer::start(const std::filesystem::path& path,
                                                              Handler handler, Options options) {
    auto address = unix_address(path);
    if (!address)
        return address.error();
    if (auto made = make_parent_dirs(path.parent_path()); !made)
        return made.error();
    if (auto cleared = clear_stale_socket(path, address.value()); !cleared)
        return cleared.error();

    std::unique_ptr<UnixHttpServer> server(
        new UnixHttpServer(path, std::move(handler), std::move(options)));
    server->listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!server->listener_.valid())
        return Error::from_errno(errno, "cannot create the control socket");
    // Linux gives the socket file the mode of the socket's inode at bind(): setting it here
    // makes the file 0600 from the moment it exists, without touching the process-wide umask
    // (which other threads may be using to create files).
    if (::fchmod(server->listener_.get(), 0600) != 0)
        return Error::from_errno(errno, "cannot set the mode of the control socket");
    const sockaddr_un& addr = address.value();
    if (::bind(server->listener_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) !=
        0) {
        if (errno == EADDRINUSE)
            return Error{EADDRINUSE, "another flowwalld is already running on " + path.string()};
        return Error::from_errno(errno, "cannot bind the control socket " + path.string());
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return Error::from_errno(errno, "cannot inspect the control socket " + path.string());
    server->socket_dev_ = st.st_dev;
    server->socket_ino_ = st.st_ino; // from here on, stop() removes the file
    // A chmod() now would come too late: the socket has been open to others since bind().
    if ((st.st_mode & 07777) != 0600)
        return Error{EPERM, "the control socket " + path.string() + " was created with mode " +
                                fmt::format("{:04o}", st.st_mode & 07777) +
                                " instead of 0600; refusing to serve it"};
    if (::listen(server->listener_.get(), 64) != 0)
        return Error::from_errno(errno, "cannot listen on " + path.string());
    server->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!server->wake_.valid())
        return Error::from_errno(errno, "cannot create an eventfd for the control API");
    try {
        server->acceptor_ = std::thread([raw = server.get()] { raw->accept_loop(); });
    } catch (const std::system_error& e) {
        return Error{e.code().value(),
                     std::string("cannot start the control API thread: ") + e.what()};
    }
    spdlog::info("control API listening on {}", path.string());
    return server;
}

void UnixHttpServer::stop() {
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_)
        return;
    stopped_ = true;
    stopping_ = true;
    if (wake_.valid()) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(wake_.get(), &one, sizeof one);
    }
    if (acceptor_.joinable())
        acceptor_.join();
    // Unlink before closing so a client arriving now is told "no socket" (not running)
    // rather than getting a connection that is reset.
    struct stat st {};
    if (socket_ino_ != 0 && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
        st.st_ino == socket_ino_)
        ::unlink(path_.c_str());
    listener_.reset();
    std::lock_guard lock(connections_mutex_);
    for (auto& connection : connections_) {
        std::lock_guard fd_lock(connection->mutex);
        if (connection->fd >= 0)
            ::shutdown(connection->fd, SHUT_RDWR); // wakes its poll()/recv()/send()
    }
    for (auto& connection : connections_)
        if (connection->thread.joinable())
            connection->thread.join();
    connections_.clear();
}

void UnixHttpServer::accept_loop() {
    while (!stopping_) {
        std::array<pollfd, 2> fds{{{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}}};
        // The timeout only bounds how long finished threads wait to be joined.
        int ready = ::poll(fds.data(), fds.size(), 1000);
        reap_finished();
        if (stopping_)
            break;
        if (ready <= 0 || (fds[0].revents & POLLIN) == 0)
            continue;
        int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                spdlog::warn("control API: cannot accept a connection: {}", std::strerror(errno));
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            continue;
        }
        if (active_ >= options_.max_connections) {
            spdlog::warn("control API: {} connections in progress, answered 503",
                         options_.max_connections);
            reject_busy(fd, options_.max_connections);
            continue;
        }
        auto connection = std::make_unique<Connection>();
        connection->fd = fd;
        Connection& ref = *connection;
        ++active_;
        try {
            connection->thread = std::thread([this, &ref] { serve(ref); });
        } catch (const std::system_error& e) {
            --active_;
            spdlog::warn("control API: cannot start a connection thread: {}", e.what());
            reject_busy(fd, options_.max_connections);
            continue;
        }
        std::lock_guard lock(connections_mutex_);
        connections_.push_back(std::move(connection));
    }
}

void UnixHttpServer::reap_finished() {
    std::lock_guard lock(connections_mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
        if ((*it)->done) {
            (*it)->thread.join();
            it = connections_.erase(it);
        } else {
            ++it;
        }
    }
}

void UnixHttpServer::serve(Connection& connection) {
    int fd = connection.fd; // only this thread closes it
    try {
        timeval send_timeout{};
        send_timeout.tv_sec = options_.write_timeout.count() / 1000;
        send_timeout.tv_usec = (options_.write_timeout.count() % 1000) * 1000;
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
        ucred peer{};
        socklen_t length = sizeof peer;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 ||
            peer.uid != options_.allowed_uid) {
            // Defence in depth: the 0600 mode already keeps other users out, unless someone
            // loosened it. Refused before reading anything, so the parser never sees them.
            spdlog::warn("control API: refused a connection from uid {} (pid {}): only uid {} "
                         "may use the control socket",
                         peer.uid, peer.pid, options_.allowed_uid);
            send_response(fd, error_response(403, "the flowwall control socket is root-only: run "
                                                  "the command as root (sudo flowwall ...)"));
        } else {
            serve_request(fd);
        }
        linger_and_close(connection);
    } catch (const std::exception& e) {
        spdlog::error("control API: connection failed: {}", e.what());
    } catch (...) {
        spdlog::error("control API: connection failed with an unknown exception");
    }
    {
        std::lock_guard lock(connection.mutex);
        if (connection.fd >= 0)
            ::close(connection.fd);
        connection.fd = -1;
    }
    --active_;
    connection.done = true;
}

void UnixHttpServer::serve_request(int fd) {
    HttpRequestParser parser(options_.limits);
    const auto deadline = Clock::now() + options_.read_timeout;
    bool continue_sent = false;
    std::array<char, 16 * 1024> buffer{};
    while (parser.state() == HttpRequestParser::State::need_more) {
        // curl sends "Expect: 100-continue" before a large body and waits a second for it.
        if (parser.headers_complete() && !continue_sent) {
            std::string expect = parser.request().header("expect");
            std::transform(expect.begin(), expect.end(), expect.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            if (expect == "100-continue" && !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
                return;
            continue_sent = true;
        }
        int wait = millis_until(deadline);
        if (wait == 0) {
            send_response(fd,
                          error_response(408, "the request was not complete within " +
                                                  std::to_string(options_.read_timeout.count()) +
                                                  " ms: send the whole request at once"));
            return;
        }
        pollfd peer{fd, POLLIN, 0};
        int ready = ::poll(&peer, 1, wait);
        if (ready < 0 && errno != EINTR)
            return;
        if (ready <= 0)
            continue;
        ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got == 0 || stopping_)
            return; // the client gave up, or stop() shut the connection down
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return;
        }
        parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    }
    if (parser.state() == HttpRequestParser::State::error) {
        spdlog::debug("control API: bad request ({}): {}", parser.error_status(),
                      parser.error_reason());
        send_response(fd, error_response(parser.error_status(), parser.error_reason()));
        return;
    }
    HttpRequest request = parser.take_request();
    HttpResponse response = call_handler(request);
    spdlog::debug("control API: {} {} -> {}", request.method, request.target, response.status);
    send_response(fd, response);
}

HttpResponse UnixHttpServer::call_handler(const HttpRequest& request) {
    try {
        return handler_(request);
    } catch (const std::exception& e) {
        spdlog::error("control API: {} {} failed: {}", request.method, request.target, e.what());
        return error_response(500, e.what());
    } catch (...) {
        spdlog::error("control API: {} {} failed with an unknown exception", request.method,
                      request.target);
        return error_response(500, "internal error in flowwalld (unknown exception): see its log");
    }
}

void UnixHttpServer::send_response(int fd, const HttpResponse& response) {
    if (!response.stream) {
        send_all(fd, format_response(response));
        return;
    }
    if (!send_all(fd, format_response_head(response)))
        return;
    StreamWriter writer(stopping_, fd);
    try {
        response.stream(writer);
    } catch (const std::exception& e) {
        // The status line is gone already: all we can do is end the body early.
        spdlog::error("control API: streaming response failed: {}", e.what());
    }
}

// Closing a socket with unread request bytes makes the kernel reset the connection, and the
// client may then lose the answer it has not read yet (a 413 sent while it is still sending
// the body). So: stop writing, read what is left for a bounded time, then close.
void UnixHttpServer::linger_and_close(Connection& connection) {
    int fd = connection.fd;
    ::shutdown(fd, SHUT_WR);
    const auto deadline = Clock::now() + std::min(options_.read_timeout, kMaxLinger);
    std::array<char, 16 * 1024> sink{};
    std::size_t drained = 0;
    while (drained < kMaxLingerBytes && !stopping_) {
        int wait = millis_until(deadline);
        pollfd peer{fd, POLLIN, 0};
        if (wait == 0 || ::poll(&peer, 1, wait) <= 0)
            break;
        ssize_t got = ::recv(fd, sink.data(), sink.size(), 0);
        if (got <= 0)
            break;
        drained += static_cast<std::size_t>(got);
    }
    std::lock_guard lock(connection.mutex);
    ::close(fd);
    connection.fd = -1;
}

} // namespace flowwall::api
