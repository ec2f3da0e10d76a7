// SPDX-License-Identifier: Apache-2.0
// A stand-in for dockerd on a Unix socket in a temporary directory: canned answers per path,
// an /events stream the test feeds line by line, and requests that never get an answer. It
// lets the unit tests drive the client and the source through failures a real daemon will not
// produce on demand (oversized bodies, stalls, garbage), without root.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flowwall::testing {

class FakeDocker {
public:
    FakeDocker();
    ~FakeDocker();
    FakeDocker(const FakeDocker&) = delete;
    FakeDocker& operator=(const FakeDocker&) = delete;

    const std::string& socket_path() const { return socket_path_; }

    // The answer to GET /v1.41<path> (query ignored). status 0: accept the request and never
    // answer, until the server is destroyed. Paths without an answer get 404 with Docker's
    // {"message": ...}.
    void set(const std::string& path, int status, std::string body);
    // Sent as one line to every open /events stream, and to streams opened later.
    void push_event(const std::string& line);
    // Ends every open /events stream as a daemon shutting down would.
    void close_streams();

    // Request targets seen so far ("/v1.41/events?since=...").
    std::vector<std::string> requests() const;
    int open_streams() const { return open_streams_.load(); }

private:
    struct Answer {
        int status = 0;
        std::string body;
    };
    void accept_loop();
    void serve(int fd);
    void serve_stream(int fd);

    std::string dir_;
    std::string socket_path_;
    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<int> open_streams_{0};

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, Answer> answers_;
    std::vector<std::string> events_;
    uint64_t stream_generation_ = 0; // close_streams() bumps it
    std::vector<std::string> requests_;
    std::vector<std::thread> connections_;
    std::thread acceptor_;
};

} // namespace flowwall::testing
