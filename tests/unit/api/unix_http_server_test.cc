// SPDX-License-Identifier: Apache-2.0
// The control API server on real Unix sockets in a temporary directory. Runs unprivileged:
// the "root-only" peer check is exercised by allowing some other uid than the test's.
#include "src/api/unix_http_server.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "src/api/control_client.h"
#include "tests/unit/api/api_test_support.h"

namespace flowwall::api {
namespace {

using namespace std::chrono_literals;
using testing::raw_exchange;
using testing::RawConnection;
using testing::start_test_server;
using testing::TempDir;

HttpResponse echo(const HttpRequest& request) {
    nlohmann::json query = request.query;
    return json_response(200, {{"method", request.method},
                               {"target", request.target},
                               {"query", query},
                               {"body", request.body}});
}

class UnixHttpServerTest : public ::testing::Test {
protected:
    UnixHttpServer::Options options() const {
        UnixHttpServer::Options options;
        options.allowed_uid = ::getuid();
        options.read_timeout = 1000ms;
        return options;
    }
    std::unique_ptr<UnixHttpServer> start(UnixHttpServer::Handler handler = echo) {
        return start_with(options(), std::move(handler));
    }
    std::unique_ptr<UnixHttpServer> start_with(UnixHttpServer::Options options,
                                               UnixHttpServer::Handler handler = echo) {
        return start_test_server(socket_, std::move(handler), options);
    }

    TempDir dir_;
    std::filesystem::path socket_ = dir_ / "ctl.sock";
    ControlClient client_{socket_};
};

TEST_F(UnixHttpServerTest, GetAndPostRoundTrip) {
    auto server = start();
    ASSERT_TRUE(server);
    auto got = client_.get("/v1/echo?name=" + percent_encode("registry.local/web"));
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got.value()["method"], "GET");
    EXPECT_EQ(got.value()["target"], "/v1/echo");
    EXPECT_EQ(got.value()["query"]["name"], "registry.local/web");

    auto posted = client_.post("/v1/mode", {{"mode", "block"}});
    ASSERT_TRUE(posted) << posted.error().message;
    EXPECT_EQ(posted.value()["method"], "POST");
    EXPECT_EQ(nlohmann::json::parse(posted.value()["body"].get<std::string>()),
              (nlohmann::json{{"mode", "block"}}));
}

TEST_F(UnixHttpServerTest, HandlerErrorsReachTheClient) {
    auto server = start([](const HttpRequest& request) -> HttpResponse {
        if (request.target == "/boom")
            throw std::runtime_error("model store is corrupt");
        return error_response(404, "no identity \"db\": see flowwall identities");
    });
    ASSERT_TRUE(server);
    auto missing = client_.get("/v1/identities/db");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "no identity \"db\": see flowwall identities");
    EXPECT_EQ(missing.error().errnum, 0);
    auto raw = client_.request("GET", "/v1/identities/db", nullptr);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw.value().status, 404);

    auto boom = client_.request("GET", "/boom", nullptr);
    ASSERT_TRUE(boom);
    EXPECT_EQ(boom.value().status, 500);
    EXPECT_EQ(boom.value().body["error"]["message"], "model store is corrupt");
    EXPECT_EQ(client_.get("/v1/x").error().message, "no identity \"db\": see flowwall identities")
        << "the server survives a throwing handler";
}

TEST_F(UnixHttpServerTest, SocketIsRootOnlyFromTheStart) {
    std::filesystem::path nested = dir_ / "run/flowwall/ctl.sock";
    mode_t old_umask = ::umask(0); // the mode must not depend on the umask
    auto server = UnixHttpServer::start(nested, echo, options());
    ::umask(old_umask);
    ASSERT_TRUE(server) << server.error().to_string();
    struct stat st {};
    ASSERT_EQ(::stat(nested.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, ::getuid());
    ASSERT_EQ(::stat(nested.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(UnixHttpServerTest, ReplacesAStaleSocket) {
    testing::make_dead_socket(socket_);
    auto server = start();
    ASSERT_TRUE(server);
    EXPECT_TRUE(client_.get("/"));
}

TEST_F(UnixHttpServerTest, RefusesToDisplaceALiveServer) {
    auto first = start();
    ASSERT_TRUE(first);
    auto second = UnixHttpServer::start(socket_, echo, options());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().errnum, EADDRINUSE);
    EXPECT_EQ(second.error().message,
              "another flowwalld is already running on " + socket_.string());
    EXPECT_TRUE(client_.get("/")) << "the first server still answers";
}

TEST_F(UnixHttpServerTest, RefusesToReplaceSomethingElse) {
    std::ofstream(socket_) << "not a socket";
    auto server = UnixHttpServer::start(socket_, echo, options());
    ASSERT_FALSE(server);
    EXPECT_NE(server.error().message.find("is not a socket"), std::string::npos);
    EXPECT_TRUE(std::filesystem::is_regular_file(socket_));
}

TEST_F(UnixHttpServerTest, StopRemovesOnlyItsOwnSocket) {
    auto server = start();
    ASSERT_TRUE(server);
    server->stop();
    EXPECT_FALSE(std::filesystem::exists(socket_));
    EXPECT_FALSE(client_.get("/"));

    auto old_server = start();
    ASSERT_TRUE(old_server);
    ::unlink(socket_.c_str()); // a newer daemon takes the path over
    auto new_server = start();
    ASSERT_TRUE(new_server);
    old_server.reset();
    EXPECT_TRUE(std::filesystem::exists(socket_));
    EXPECT_TRUE(client_.get("/"));
}

TEST_F(UnixHttpServerTest, RefusesPeersThatAreNotAllowed) {
    std::atomic<int> calls{0};
    auto opts = options();
    opts.allowed_uid = ::getuid() + 1; // stands for root while the test runs as someone else
    auto server = start_with(opts, [&](const HttpRequest& request) {
        ++calls;
        return echo(request);
    });
    ASSERT_TRUE(server);
    auto refused = client_.get("/v1/status");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "the flowwall control socket is root-only: run the command "
                                       "as root (sudo flowwall ...)");
    const nlohmann::json empty = nlohmann::json::object();
    auto raw = client_.request("POST", "/v1/mode", &empty);
    ASSERT_TRUE(raw) << raw.error().message;
    EXPECT_EQ(raw.value().status, 403);
    EXPECT_EQ(calls, 0);
}

TEST_F(UnixHttpServerTest, OversizeRequestsGet413) {
    auto server = start();
    ASSERT_TRUE(server);
    std::string answer =
        raw_exchange(socket_, "POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
    answer = raw_exchange(socket_, "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;

    // A client that sends its whole body before reading must not die of EPIPE half-way: the
    // server reads and discards the rest before closing.
    RawConnection sender(socket_);
    EXPECT_TRUE(sender.send("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n" +
                            std::string(2000000, 'x')));
    answer = sender.read_all();
    EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;

    // Through curl too: the client is still sending when the answer comes, and must see it.
    auto big = client_.post("/", {{"blob", std::string(2 * 1024 * 1024, 'x')}});
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().message.find("larger than 1048576 bytes"), std::string::npos)
        << big.error().message;
}

TEST_F(UnixHttpServerTest, MalformedAndChunkedRequests) {
    auto server = start();
    ASSERT_TRUE(server);
    std::string answer =
        raw_exchange(socket_, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 501 ", 0), 0u) << answer;
    EXPECT_NE(answer.find("send Content-Length"), std::string::npos);
    answer = raw_exchange(socket_, "GET / HTTP/2.0\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 505 ", 0), 0u) << answer;
    answer = raw_exchange(socket_, "garbage\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
}

TEST_F(UnixHttpServerTest, AnswersExpectContinue) {
    auto server = start();
    ASSERT_TRUE(server);
    RawConnection connection(socket_);
    connection.send("POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    std::string interim;
    for (int i = 0; i < 50 && interim.size() < 25; ++i)
        interim += connection.read_all(100ms);
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    connection.send("{}");
    std::string answer = connection.read_all();
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
}

// A client that connects and stalls (or trickles bytes) gets 408 once read_timeout has passed
// since it connected, and in the meantime other clients are served.
TEST_F(UnixHttpServerTest, SlowClientsTimeOutWithoutBlockingOthers) {
    auto server = start();
    ASSERT_TRUE(server);
    RawConnection stalled(socket_);
    stalled.send("GET / HTTP/1.1\r\n");
    RawConnection trickler(socket_);
    auto started = std::chrono::steady_clock::now();
    std::atomic<bool> stop_trickling{false};
    std::thread trickle([&] {
        for (char c : std::string("GET / HTTP/1.1\r\nX-Slow: ") + std::string(200, 'a')) {
            if (stop_trickling || !trickler.send(std::string(1, c)))
                return;
            std::this_thread::sleep_for(20ms);
        }
    });
    auto fast = client_.get("/fast");
    EXPECT_TRUE(fast) << fast.error().message;
    EXPECT_FALSE(stalled.readable_now()) << "the stalled client was answered before its timeout";

    std::string stalled_answer = stalled.read_all(5s);
    std::string trickled_answer = trickler.read_all(5s);
    auto elapsed = std::chrono::steady_clock::now() - started;
    stop_trickling = true;
    trickle.join();
    EXPECT_EQ(stalled_answer.rfind("HTTP/1.1 408 ", 0), 0u) << stalled_answer;
    EXPECT_EQ(trickled_answer.rfind("HTTP/1.1 408 ", 0), 0u) << trickled_answer;
    EXPECT_LT(elapsed, 4s) << "200 bytes at 20 ms each would take 4 s: the deadline is total";
}

// Handlers that block hold their connections; one more connection is answered 503 at once.
TEST_F(UnixHttpServerTest, BeyondTheConnectionCapAnswers503) {
    std::mutex mutex;
    std::condition_variable changed;
    int waiting = 0;
    bool release = false;
    auto opts = options();
    opts.max_connections = 2;
    auto server = start_with(opts, [&](const HttpRequest& request) {
        std::unique_lock lock(mutex);
        ++waiting;
        changed.notify_all();
        changed.wait_for(lock, 10s, [&] { return release; });
        return echo(request);
    });
    ASSERT_TRUE(server);
    auto first = std::async(std::launch::async, [&] { return client_.get("/1"); });
    auto second = std::async(std::launch::async, [&] { return client_.get("/2"); });
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(changed.wait_for(lock, 5s, [&] { return waiting == 2; }));
    }
    std::string answer = raw_exchange(socket_, "GET /3 HTTP/1.1\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 503 ", 0), 0u) << answer;
    {
        std::lock_guard lock(mutex);
        release = true;
    }
    changed.notify_all();
    EXPECT_TRUE(first.get());
    EXPECT_TRUE(second.get());
    // The slots free once the server threads have finished closing, a moment after the
    // clients got their answers.
    bool served = false;
    for (int i = 0; i < 100 && !served; ++i) {
        served = static_cast<bool>(client_.get("/4"));
        if (!served)
            std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(served) << "capacity did not come back";
}

TEST_F(UnixHttpServerTest, ClientThatHangsUpDoesNotKillTheServer) {
    auto server = start([](const HttpRequest&) {
        return json_response(200, {{"big", std::string(4 * 1024 * 1024, 'x')}});
    });
    ASSERT_TRUE(server);
    for (int i = 0; i < 3; ++i) {
        RawConnection connection(socket_);
        connection.send("GET / HTTP/1.1\r\n\r\n");
        connection.close(); // the server's send() now fails with EPIPE, not SIGPIPE
    }
    EXPECT_TRUE(client_.get("/"));
}

TEST_F(UnixHttpServerTest, StreamsLines) {
    auto server = start([](const HttpRequest&) {
        HttpResponse response;
        response.content_type = "application/x-ndjson";
        response.stream = [](BodyWriter& writer) {
            for (int i = 0; i < 3; ++i)
                writer.write(nlohmann::json{{"n", i}}.dump() + "\n");
        };
        return response;
    });
    ASSERT_TRUE(server);
    std::vector<nlohmann::json> lines;
    auto status = client_.stream_lines("/v1/events", [&](std::string_view line) {
        lines.push_back(nlohmann::json::parse(line));
        return true;
    });
    ASSERT_TRUE(status) << status.error().message;
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[2]["n"], 2);
}

// A follower that stops reading ends the producer; stop() ends a producer waiting for events.
TEST_F(UnixHttpServerTest, StreamsEndWhenTheClientLeavesOrTheServerStops) {
    std::atomic<int> producers_done{0};
    auto server = start([&](const HttpRequest& request) {
        HttpResponse response;
        bool quiet = request.target == "/quiet";
        response.stream = [&producers_done, quiet](BodyWriter& writer) {
            while (writer.alive() && (quiet || writer.write("{\"event\":1}\n")))
                std::this_thread::sleep_for(5ms);
            ++producers_done;
        };
        return response;
    });
    ASSERT_TRUE(server);
    int seen = 0;
    auto status = client_.stream_lines("/loud", [&](std::string_view) { return ++seen < 3; });
    ASSERT_TRUE(status) << status.error().message;
    EXPECT_EQ(seen, 3);
    for (int i = 0; i < 400 && producers_done < 1; ++i)
        std::this_thread::sleep_for(5ms);
    EXPECT_EQ(producers_done, 1) << "the producer did not notice the client left";

    auto follower = std::async(std::launch::async, [&] {
        return client_.stream_lines("/quiet", [](std::string_view) { return true; });
    });
    std::this_thread::sleep_for(200ms);
    auto started = std::chrono::steady_clock::now();
    server->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_EQ(producers_done, 2);
    ASSERT_EQ(follower.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(follower.get());
}

} // namespace
} // namespace flowwall::api
