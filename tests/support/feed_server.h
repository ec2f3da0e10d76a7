// SPDX-License-Identifier: Apache-2.0
// A tiny HTTP/1.1 server on 127.0.0.1 that serves one feed, for the deny list tests: the test
// sets the body and the status it answers with, and the server honours If-None-Match with a
// 304 (its ETag is a hash of the body), counts the requests and can hold an answer back to
// make a client time out. One connection at a time, Connection: close; stopped and joined
// by the destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace flowwall::testing {

class FeedServer {
public:
    FeedServer();
    ~FeedServer();
    FeedServer(const FeedServer&) = delete;
    FeedServer& operator=(const FeedServer&) = delete;

    // "http://127.0.0.1:PORT/feed.txt"
    std::string url(const std::string& path = "/feed.txt") const;

    void set_body(std::string body);
    void set_status(int status); // 200 answers the body; anything else an error page
    void set_delay(std::chrono::milliseconds delay);
    int requests() const { return requests_.load(); }
    int not_modified_answers() const { return not_modified_.load(); }
    std::string etag() const;

private:
    void serve();
    void answer(int fd);

    int listen_fd_ = -1;
    int wake_fd_ = -1; // eventfd: the destructor's stop
    uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::string body_;
    int status_ = 200;
    std::chrono::milliseconds delay_{0};
    std::atomic<int> requests_{0};
    std::atomic<int> not_modified_{0};
    std::thread thread_;
};

} // namespace flowwall::testing
