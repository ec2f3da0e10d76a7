// SPDX-License-Identifier: Apache-2.0
// The HTTP client against a fake daemon: answers, errors, limits, and how fast it stops.
#include "src/identity/docker/docker_api_client.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/unit/docker/fake_docker.h"

namespace flowwall::identity::docker {
namespace {

using namespace std::chrono_literals;
using flowwall::testing::FakeDocker;
using Clock = std::chrono::steady_clock;

DockerApiClient::Options options_for(const FakeDocker& fake) {
    DockerApiClient::Options options;
    options.socket_path = fake.socket_path();
    return options;
}

TEST(DockerApiClient, GetsJson) {
    FakeDocker fake;
    fake.set("/containers/json", 200, R"([{"Id":"abc"}])");
    DockerApiClient client(options_for(fake));
    auto list = client.get_json("/containers/json");
    ASSERT_TRUE(list.ok()) << list.error().to_string();
    EXPECT_EQ(list.value()[0]["Id"], "abc");
    EXPECT_EQ(fake.requests(), std::vector<std::string>{"/v1.41/containers/json"});
}

TEST(DockerApiClient, NonSuccessCarriesStatusAndDockersMessage) {
    FakeDocker fake;
    DockerApiClient client(options_for(fake));
    auto missing = client.get_json("/containers/nope/json");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("HTTP 404"), std::string::npos)
        << missing.error().message;
    EXPECT_NE(missing.error().message.find("No such container: /containers/nope/json"),
              std::string::npos)
        << missing.error().message;

    // get() leaves the interpretation of a status to the caller.
    auto response = client.get("/containers/nope/json");
    ASSERT_TRUE(response.ok()) << response.error().to_string();
    EXPECT_EQ(response.value().status, 404);

    fake.set("/info", 500, "plain text failure\n");
    auto failed = client.get_json("/info");
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("HTTP 500: plain text failure"), std::string::npos)
        << failed.error().message;
}

TEST(DockerApiClient, MissingSocketSaysWhereAndWhatToCheck) {
    DockerApiClient::Options options;
    options.socket_path = "/nonexistent/flowwall/docker.sock";
    DockerApiClient client(options);
    auto result = client.get_json("/_ping");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().errnum, ENOENT);
    const std::string text = result.error().to_string();
    EXPECT_NE(text.find("cannot reach the Docker daemon at /nonexistent/flowwall/docker.sock"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("is dockerd running?"), std::string::npos) << text;
}

TEST(DockerApiClient, BodyNotJsonIsAnError) {
    FakeDocker fake;
    fake.set("/containers/json", 200, "<html>");
    DockerApiClient client(options_for(fake));
    auto result = client.get_json("/containers/json");
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("not JSON"), std::string::npos);
}

TEST(DockerApiClient, OversizedBodyIsRefused) {
    FakeDocker fake;
    fake.set("/containers/json", 200, "[\"" + std::string(5000, 'x') + "\"]");
    auto options = options_for(fake);
    options.max_json_bytes = 4096;
    DockerApiClient client(options);
    auto result = client.get_json("/containers/json");
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("more than 4096 bytes"), std::string::npos)
        << result.error().message;
}

TEST(DockerApiClient, TimesOutWhenTheDaemonDoesNotAnswer) {
    FakeDocker fake;
    fake.set("/containers/json", 0, "");
    auto options = options_for(fake);
    options.timeout = 300ms;
    DockerApiClient client(options);
    const auto start = Clock::now();
    auto result = client.get_json("/containers/json");
    const auto took = Clock::now() - start;
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().errnum, ETIMEDOUT) << result.error().to_string();
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

TEST(DockerApiClient, StopCancelsARequestAtOnce) {
    FakeDocker fake;
    fake.set("/containers/json", 0, "");
    DockerApiClient client(options_for(fake));
    std::stop_source stop;
    auto result = std::async(std::launch::async,
                             [&] { return client.get_json("/containers/json", stop.get_token()); });
    std::this_thread::sleep_for(100ms);
    const auto start = Clock::now();
    stop.request_stop();
    ASSERT_EQ(result.wait_for(2s), std::future_status::ready);
    EXPECT_LT(Clock::now() - start, 500ms);
    auto r = result.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().errnum, ECANCELED);
}

TEST(DockerApiClient, StreamsLinesAsTheyArrive) {
    FakeDocker fake;
    DockerApiClient client(options_for(fake));
    std::stop_source stop;
    std::vector<std::string> lines;
    fake.push_event(R"({"n":1})");
    fake.push_event(std::string(100, 'y'));
    auto streamed = std::async(std::launch::async, [&] {
        return client.stream_lines(
            "/events",
            [&](std::string_view line) {
                lines.emplace_back(line);
                if (lines.size() == 3)
                    stop.request_stop();
            },
            stop.get_token());
    });
    std::this_thread::sleep_for(50ms);
    fake.push_event(R"({"n":3})");
    ASSERT_EQ(streamed.wait_for(2s), std::future_status::ready);
    Status status = streamed.get();
    EXPECT_TRUE(status.ok()) << status.error().to_string();
    EXPECT_EQ(lines, (std::vector<std::string>{R"({"n":1})", std::string(100, 'y'), R"({"n":3})"}));
}

TEST(DockerApiClient, IdleStreamStopsWithinMilliseconds) {
    FakeDocker fake;
    DockerApiClient client(options_for(fake));
    std::stop_source stop;
    auto streamed = std::async(std::launch::async, [&] {
        return client.stream_lines(
            "/events", [](std::string_view) {}, stop.get_token());
    });
    for (int i = 0; i < 100 && fake.open_streams() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(fake.open_streams(), 1);
    std::this_thread::sleep_for(300ms);
    const auto start = Clock::now();
    stop.request_stop();
    ASSERT_EQ(streamed.wait_for(2s), std::future_status::ready);
    EXPECT_LT(Clock::now() - start, 500ms);
    EXPECT_TRUE(streamed.get().ok());
}

TEST(DockerApiClient, StreamLeavesAtItsDeadline) {
    FakeDocker fake;
    DockerApiClient client(options_for(fake));
    const auto start = Clock::now();
    Status status = client.stream_lines(
        "/events", [](std::string_view) {}, {}, start + 300ms);
    const auto took = Clock::now() - start;
    EXPECT_TRUE(status.ok()) << status.error().to_string();
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 1s);
}

TEST(DockerApiClient, StreamEndedByTheDaemonIsAnError) {
    FakeDocker fake;
    DockerApiClient client(options_for(fake));
    auto streamed = std::async(std::launch::async, [&] {
        return client.stream_lines("/events", [](std::string_view) {}, {});
    });
    for (int i = 0; i < 100 && fake.open_streams() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    fake.close_streams();
    ASSERT_EQ(streamed.wait_for(2s), std::future_status::ready);
    Status status = streamed.get();
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("ended the stream"), std::string::npos)
        << status.error().message;
}

TEST(DockerApiClient, OverlongLineIsAnError) {
    FakeDocker fake;
    fake.push_event(std::string(3000, 'z'));
    auto options = options_for(fake);
    options.max_line_bytes = 1024;
    DockerApiClient client(options);
    Status status = client.stream_lines(
        "/events", [](std::string_view) {}, {}, Clock::now() + 2s);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("a line longer than 1024 bytes"), std::string::npos)
        << status.error().message;
}

TEST(DockerApiClient, StreamRefusedWithStatusIsAnError) {
    FakeDocker fake;
    fake.set("/events", 400, R"({"message":"invalid filter 'typo'"})");
    DockerApiClient client(options_for(fake));
    Status status = client.stream_lines(
        "/events", [](std::string_view) {}, {}, Clock::now() + 2s);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("HTTP 400: invalid filter 'typo'"), std::string::npos)
        << status.error().message;
}

TEST(DockerApiClient, CallbackExceptionEndsTheStreamWithItsMessage) {
    FakeDocker fake;
    fake.push_event("one");
    DockerApiClient client(options_for(fake));
    Status status = client.stream_lines(
        "/events", [](std::string_view) { throw std::runtime_error("sink is full"); }, {},
        Clock::now() + 2s);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("sink is full"), std::string::npos);
}

TEST(UrlEncode, EncodesAllButUnreserved) {
    EXPECT_EQ(url_encode(R"({"type":["container"]})"), "%7B%22type%22%3A%5B%22container%22%5D%7D");
    EXPECT_EQ(url_encode("a-Z_0.9~"), "a-Z_0.9~");
    EXPECT_EQ(url_encode("a b/&é"), "a%20b%2F%26%C3%A9");
}

} // namespace
} // namespace flowwall::identity::docker
