// SPDX-License-Identifier: Apache-2.0
// What the CLI tells its user when the daemon is not there, not reachable or not itself.
#include "src/api/control_client.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "src/api/unix_http_server.h"
#include "tests/unit/api/api_test_support.h"

namespace flowwall::api {
namespace {

using namespace std::chrono_literals;
using testing::start_test_server;
using testing::TempDir;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class ControlClientTest : public ::testing::Test {
protected:
    std::unique_ptr<UnixHttpServer> serve(UnixHttpServer::Handler handler) {
        UnixHttpServer::Options options;
        options.allowed_uid = ::getuid();
        return start_test_server(socket_, std::move(handler), options);
    }

    TempDir dir_;
    std::filesystem::path socket_ = dir_ / "ctl.sock";
};

TEST_F(ControlClientTest, MissingSocketSaysTheDaemonIsNotRunning) {
    for (const auto& path : {socket_, dir_ / "no/such/dir/ctl.sock"}) {
        auto result = ControlClient(path).get("/v1/status");
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().errnum, ENOENT);
        EXPECT_EQ(result.error().message,
                  "flowwalld is not running: no control socket at " + path.string() +
                      " (start it with: systemctl start flowwalld, or pass --socket)");
    }
}

TEST_F(ControlClientTest, RefusedConnectionSaysNotRunningOrCrashed) {
    testing::make_dead_socket(socket_);
    auto result = ControlClient(socket_).get("/v1/status");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().errnum, ECONNREFUSED);
    EXPECT_TRUE(contains(result.error().message, "nothing listens on " + socket_.string()));
    EXPECT_TRUE(contains(result.error().message, "not running"));
    EXPECT_TRUE(contains(result.error().message, "journalctl -u flowwalld"));
}

TEST_F(ControlClientTest, NotASocket) {
    std::ofstream(socket_) << "{}";
    auto result = ControlClient(socket_).get("/v1/status");
    ASSERT_FALSE(result);
    EXPECT_TRUE(contains(result.error().message, "is not a socket")) << result.error().message;
}

// Root bypasses file modes, so as root the check runs in a child that became nobody; as an
// ordinary user, a socket without write permission is refused the same way.
TEST_F(ControlClientTest, PermissionDeniedSaysRunAsRoot) {
    auto server = serve([](const HttpRequest&) { return json_response(200, {}); });
    ASSERT_TRUE(server);
    if (::geteuid() != 0) {
        ASSERT_EQ(::chmod(socket_.c_str(), 0), 0);
        auto result = ControlClient(socket_).get("/v1/status");
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().errnum, EACCES);
        EXPECT_TRUE(contains(result.error().message, "permission denied on " + socket_.string()));
        EXPECT_TRUE(contains(result.error().message, "root-only, run as root"));
        return;
    }
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0); // nobody may reach the socket, not use it
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(2);
        auto result = ControlClient(socket_).get("/v1/status");
        std::string report =
            result ? std::string("unexpected success")
                   : std::to_string(result.error().errnum) + " " + result.error().message;
        [[maybe_unused]] auto written = ::write(pipe_fds[1], report.data(), report.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buffer[512];
    for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        report.append(buffer, static_cast<std::size_t>(got));
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    EXPECT_EQ(report, std::to_string(EACCES) + " permission denied on " + socket_.string() +
                          ": the control socket is root-only, run as root (sudo flowwall ...)");
}

TEST_F(ControlClientTest, AnswersThatAreNotJson) {
    auto server = serve([](const HttpRequest& request) {
        HttpResponse response;
        response.content_type = "text/plain";
        response.status = request.target == "/ok" ? 200 : 502;
        response.body = request.target == "/ok" ? "hello" : "bad gateway\n";
        return response;
    });
    ASSERT_TRUE(server);
    ControlClient client(socket_);
    auto ok = client.get("/ok");
    ASSERT_FALSE(ok);
    EXPECT_TRUE(contains(ok.error().message, "is not JSON (HTTP 200: hello)"))
        << ok.error().message;
    auto bad = client.get("/bad");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "flowwalld answered HTTP 502: bad gateway");
}

TEST_F(ControlClientTest, EmptyAnswerIsNull) {
    auto server = serve([](const HttpRequest&) {
        HttpResponse response;
        response.status = 204;
        return response;
    });
    ASSERT_TRUE(server);
    auto result = ControlClient(socket_).post("/v1/learning/restart", {{"identity", "web"}});
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_TRUE(result.value().is_null());
}

TEST_F(ControlClientTest, SlowDaemonTimesOut) {
    auto server = serve([](const HttpRequest&) {
        std::this_thread::sleep_for(1000ms);
        return json_response(200, {});
    });
    ASSERT_TRUE(server);
    auto started = std::chrono::steady_clock::now();
    auto result = ControlClient(socket_, 300ms).get("/v1/status");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 900ms);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().errnum, ETIMEDOUT);
    EXPECT_EQ(result.error().message, "flowwalld did not answer on " + socket_.string() +
                                          " within 300 ms: it may be overloaded or stuck; see "
                                          "journalctl -u flowwalld");
}

TEST_F(ControlClientTest, DaemonThatHangsUp) {
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address = testing::address_of(socket_);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address),
              0);
    ASSERT_EQ(::listen(listener.get(), 4), 0);
    std::thread acceptor([&] {
        UniqueFd connection(::accept(listener.get(), nullptr, nullptr));
        char buffer[4096];
        [[maybe_unused]] auto got = ::recv(connection.get(), buffer, sizeof buffer, 0);
    });
    auto result = ControlClient(socket_).get("/v1/status");
    acceptor.join();
    ASSERT_FALSE(result);
    EXPECT_TRUE(contains(result.error().message, "closed the connection on " + socket_.string()))
        << result.error().message;
}

TEST(ErrorMessageFrom, PrefersTheDaemonsMessage) {
    EXPECT_EQ(error_message_from(404, R"({"error":{"code":404,"message":"no identity \"db\""}})"),
              "no identity \"db\"");
    EXPECT_EQ(error_message_from(500, R"({"error":"flat"})"),
              R"(flowwalld answered HTTP 500: {"error":"flat"})");
    EXPECT_EQ(error_message_from(503, ""), "flowwalld answered HTTP 503");
    std::string long_body(500, 'x');
    EXPECT_EQ(error_message_from(500, long_body),
              "flowwalld answered HTTP 500: " + std::string(200, 'x') + "...");
}

} // namespace
} // namespace flowwall::api
