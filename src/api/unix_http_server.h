// SPDX-License-Identifier: Apache-2.0
// The control API's server: HTTP/1.1 on a root-only Unix stream socket.
//
// Purpose-built rather than a library because Debian's cpp-httplib (0.11) cannot listen on
// AF_UNIX, and because the socket's safety (mode 0600 from bind() on, peer uid checked with
// SO_PEERCRED, a live daemon never displaced) is the part that matters here. One request per
// connection (Connection: close): the CLI makes one request per run, so keep-alive would only
// let idle clients hold threads.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "src/api/http_message.h"
#include "src/common/result.h"
#include "src/common/unique_fd.h"

namespace flowwall::api {

struct UnixHttpServerOptions {
    // The only peer uid served. Root in production; tests run unprivileged and pass getuid().
    uid_t allowed_uid = 0;
    // Connections handled at once, each on its own thread; more are answered 503 at once.
    std::size_t max_connections = 16;
    // Time a client has to send its whole request, counted from accept: a client that stalls
    // (or trickles bytes) gets 408 and loses its thread, it cannot pin one.
    std::chrono::milliseconds read_timeout{5000};
    // Longest a single send may block on a client that does not read.
    std::chrono::milliseconds write_timeout{5000};
    HttpParseLimits limits;
};

class UnixHttpServer {
public:
    // Called on a connection thread, concurrently with other calls: must be thread-safe and
    // should return promptly (stop() waits for running handlers). An exception becomes a 500
    // carrying its message.
    using Handler = std::function<HttpResponse(const HttpRequest&)>;
    using Options = UnixHttpServerOptions;

    // Creates the socket's parent directory (0755) if missing, replaces a stale socket file
    // (nothing accepts on it), and refuses (EADDRINUSE) when a live process listens there.
    // The socket is mode 0600 from the moment it exists.
    static Result<std::unique_ptr<UnixHttpServer>> start(const std::filesystem::path& path,
                                                         Handler handler, Options options = {});

    ~UnixHttpServer();
    UnixHttpServer(const UnixHttpServer&) = delete;
    UnixHttpServer& operator=(const UnixHttpServer&) = delete;

    // Stops accepting, interrupts connections, joins every thread and removes the socket file
    // (only if it is still the one this server bound). Idempotent.
    void stop();

    const std::filesystem::path& path() const { return path_; }

private:
    struct Connection {
        std::mutex mutex; // guards fd against stop() shutting it down while it is closed
        int fd = -1;
        std::thread thread;
        std::atomic<bool> done{false};
    };
    class StreamWriter;

    UnixHttpServer(std::filesystem::path path, Handler handler, Options options);
    void accept_loop();
    void reap_finished();
    void serve(Connection& connection);
    void serve_request(int fd);
    HttpResponse call_handler(const HttpRequest& request);
    void send_response(int fd, const HttpResponse& response);
    void linger_and_close(Connection& connection);

    std::filesystem::path path_;
    Handler handler_;
    Options options_;
    UniqueFd listener_;
    UniqueFd wake_;        // eventfd: tells accept_loop to return
    dev_t socket_dev_ = 0; // identity of the socket file we bound, so stop() never
    ino_t socket_ino_ = 0; // removes a socket a newer daemon created in its place
    std::thread acceptor_;
    std::atomic<bool> stopping_{false};
    std::mutex stop_mutex_;
    bool stopped_ = false;
    std::mutex connections_mutex_;
    std::list<std::unique_ptr<Connection>> connections_;
    std::atomic<std::size_t> active_{0};
};

} // namespace flowwall::api
