// SPDX-License-Identifier: Apache-2.0
// DockerSource against the fake daemon: listing, event-driven re-reads, resync, failures.
#include "src/identity/docker/docker_source.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/recording_sink.h"
#include "tests/support/running_source.h"
#include "tests/unit/docker/fake_docker.h"

namespace flowwall::identity::docker {
namespace {

using namespace std::chrono_literals;
using flowwall::testing::FakeDocker;
using flowwall::testing::RecordingSink;
using nlohmann::json;
using Kind = RecordingSink::Kind;

const std::string kWeb = "561d59d332dde372c2ac0a9f8771d625d318faa75296d42cdc923a8c2e92c734";
const std::string kDual = "20d6f081688abe4776adbd684b69344a2f3ad7a167f2d35616fa986cf4836ba6";
const std::string kHost = "fed14da2db64a3ebc6ca96e546c374ac444436b4ae4777c11448aca4f5287bdb";

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(FLOWWALL_DOCKER_FIXTURES) + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string list_of(const std::vector<std::string>& ids) {
    json list = json::array();
    for (const auto& id : ids)
        list.push_back({{"Id", id}});
    return list.dump();
}

std::string event(const std::string& action, const std::string& id) {
    return json{{"Type", "container"}, {"Action", action}, {"Actor", {{"ID", id}}}}.dump();
}

using Running = flowwall::testing::RunningSource<DockerSource>;

DockerSource::Options options_for(const FakeDocker& fake) {
    DockerSource::Options options;
    options.socket_path = fake.socket_path();
    options.backoff_min = 20ms;
    options.backoff_max = 100ms;
    return options;
}

TEST(DockerSource, ListsRunningContainersAndReportsHealth) {
    FakeDocker fake;
    fake.set("/containers/json", 200, list_of({kWeb, kDual, kHost}));
    fake.set("/containers/" + kWeb + "/json", 200, fixture("inspect_web.json"));
    fake.set("/containers/" + kDual + "/json", 200, fixture("inspect_dual.json"));
    fake.set("/containers/" + kHost + "/json", 200, fixture("inspect_host.json"));
    RecordingSink sink;
    Running running(options_for(fake), sink);

    ASSERT_TRUE(sink.wait_for(
        [](const auto& v) { return v.health && v.health->state == SourceState::synced; }));
    sink.inspect([&](const RecordingSink::View& v) {
        ASSERT_EQ(v.records.front().kind, Kind::replace_all);
        const auto& all = v.records.front().workloads;
        ASSERT_EQ(all.size(), 2u); // the host-network container is the node
        EXPECT_EQ(all[0].key, "docker/" + kWeb);
        EXPECT_EQ(all[0].identity, "flowwall-fixture/web");
        EXPECT_EQ(all[1].key, "docker/" + kDual);
        EXPECT_EQ(v.health->message, "3 running containers, 2 with a network of their own");
        EXPECT_NE(v.health->last_sync, std::chrono::system_clock::time_point{});
    });
}

TEST(DockerSource, FollowsEventsSinceJustBeforeTheListing) {
    FakeDocker fake;
    fake.set("/containers/json", 200, list_of({}));
    RecordingSink sink;
    const auto before = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    Running running(options_for(fake), sink);
    for (int i = 0; i < 500 && fake.open_streams() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(fake.open_streams(), 1);
    std::string events;
    for (const auto& r : fake.requests())
        if (r.starts_with("/v1.41/events?"))
            events = r;
    ASSERT_FALSE(events.empty());
    const auto since = std::stoll(events.substr(events.find("since=") + 6));
    EXPECT_GE(since, before - 1);
    EXPECT_LE(since, before);
    // type and event filters, URL-encoded JSON
    EXPECT_NE(events.find("&filters=%7B%22event%22%3A%5B%22start%22"), std::string::npos) << events;
    EXPECT_NE(events.find("%22type%22%3A%5B%22container%22%2C%22network%22%5D"), std::string::npos)
        << events;
}

TEST(DockerSource, EventsTriggerAReadOfTheCurrentState) {
    FakeDocker fake;
    fake.set("/containers/json", 200, list_of({}));
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.health.has_value(); }));

    // Started: read and upserted.
    fake.set("/containers/" + kWeb + "/json", 200, fixture("inspect_web.json"));
    fake.push_event(event("start", kWeb));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.size() == 1; }));
    EXPECT_EQ(sink.workload("docker/" + kWeb)->name, "fwfix-web");

    // A network event names the container in its attributes.
    fake.set("/containers/" + kDual + "/json", 200, fixture("inspect_dual.json"));
    fake.push_event(json{{"Type", "network"},
                         {"Action", "connect"},
                         {"Actor", {{"ID", "33f2"}, {"Attributes", {{"container", kDual}}}}}}
                        .dump());
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.size() == 2; }));

    // Stopped: the event says "die", the inspect says not running: removed.
    json stopped = json::parse(fixture("inspect_web.json"));
    stopped["State"]["Running"] = false;
    fake.set("/containers/" + kWeb + "/json", 200, stopped.dump());
    fake.push_event(event("die", kWeb));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.size() == 1; }));
    EXPECT_FALSE(sink.workload("docker/" + kWeb));

    // Gone: 404 on inspect removes it.
    fake.set("/containers/" + kDual + "/json", 404, R"({"message":"No such container"})");
    fake.push_event(event("destroy", kDual));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.empty(); }));

    // Irrelevant and malformed lines change nothing and do not break the stream.
    const size_t before = sink.size();
    fake.push_event(R"({"Type":"container","Action":"exec_start: sh","Actor":{"ID":"abc"}})");
    fake.push_event("garbage");
    fake.set("/containers/" + kWeb + "/json", 200, fixture("inspect_web.json"));
    fake.push_event(event("restart", kWeb));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.size() == 1; }));
    EXPECT_EQ(sink.size(), before + 1);
}

// A Swarm task: its docker_gwbridge address (which inspect leaves out) is its own too, read
// once per listing and on every event; a bridge that cannot be read costs only that address.
TEST(DockerSource, SwarmTasksOwnTheirGatewayBridgeAddress) {
    const std::string task = "13b3196c214759e54eb97784e40ba744c6a6fcca63cab88a488eaf32ae70393a";
    FakeDocker fake;
    fake.set("/containers/json", 200, list_of({task, kWeb}));
    fake.set("/containers/" + task + "/json", 200, fixture("inspect_swarm_task.json"));
    fake.set("/containers/" + kWeb + "/json", 200, fixture("inspect_web.json"));
    fake.set("/networks/docker_gwbridge", 200, fixture("network_gwbridge.json"));
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(
        [](const auto& v) { return v.health && v.health->state == SourceState::synced; }));
    sink.inspect([&](const RecordingSink::View& v) {
        ASSERT_EQ(v.state.size(), 2u);
        const auto& addresses = v.state.at("docker/" + task).addresses;
        ASSERT_EQ(addresses.size(), 2u);
        EXPECT_EQ(addresses[0].to_string(), "198.18.208.199"); // the overlay's
        EXPECT_EQ(addresses[1].to_string(), "198.18.202.4");   // docker_gwbridge's
        EXPECT_EQ(v.state.at("docker/" + kWeb).addresses.size(), 1u);
        EXPECT_EQ(v.health->errors, 0u);
    });
    size_t bridge_reads = 0;
    for (const auto& request : fake.requests())
        bridge_reads += request.starts_with("/v1.41/networks/docker_gwbridge");
    EXPECT_EQ(bridge_reads, 1u) << "the local container needs no read of it";

    // An event re-reads the task and the bridge; a broken answer is logged, and the task
    // stays a workload with the addresses inspect gives.
    fake.set("/networks/docker_gwbridge", 200, R"({"Containers": 5})");
    fake.push_event(event("start", task));
    ASSERT_TRUE(sink.wait_for([&](const auto& v) {
        return v.state.contains("docker/" + task) &&
               v.state.at("docker/" + task).addresses.size() == 1;
    }));
}

TEST(DockerSource, ResyncsWithAFullListing) {
    FakeDocker fake;
    fake.set("/containers/json", 200, list_of({kWeb}));
    fake.set("/containers/" + kWeb + "/json", 200, fixture("inspect_web.json"));
    RecordingSink sink;
    auto options = options_for(fake);
    options.resync_interval = 200ms;
    Running running(options, sink);
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return !v.records.empty(); }));
    // A container whose events were lost: the next listing drops it.
    fake.set("/containers/json", 200, list_of({}));
    ASSERT_TRUE(sink.wait_for([](const auto& v) {
        for (const auto& r : v.records)
            if (r.kind == Kind::replace_all && r.workloads.empty())
                return true;
        return false;
    }));
    EXPECT_GE(sink.count(Kind::replace_all), 2u);
}

TEST(DockerSource, UnreadableContainerIsSkippedNotFatal) {
    FakeDocker fake;
    fake.set("/containers/json", 200, list_of({kWeb, kDual}));
    fake.set("/containers/" + kWeb + "/json", 200, R"({"Id":")" + kWeb + R"("})");
    fake.set("/containers/" + kDual + "/json", 200, fixture("inspect_dual.json"));
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.health.has_value(); }));
    sink.inspect([](const RecordingSink::View& v) {
        EXPECT_EQ(v.health->state, SourceState::synced);
        EXPECT_EQ(v.state.size(), 1u);
        EXPECT_NE(v.health->message.find("1 unreadable"), std::string::npos) << v.health->message;
        EXPECT_EQ(v.health->errors, 1u);
    });
}

TEST(DockerSource, MissingSocketIsUnavailableWithRetriesAndStopsPromptly) {
    DockerSource::Options options;
    options.socket_path = "/nonexistent/flowwall/docker.sock";
    options.backoff_min = 10ms;
    options.backoff_max = 40ms;
    RecordingSink sink;
    Running running(options, sink);
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.records.size() >= 3; }));
    running.stop();
    sink.inspect([](const RecordingSink::View& v) {
        ASSERT_TRUE(v.health);
        EXPECT_EQ(v.health->state, SourceState::unavailable);
        EXPECT_GE(v.health->errors, 3u);
        EXPECT_NE(v.health->message.find("cannot reach the Docker daemon at "
                                         "/nonexistent/flowwall/docker.sock"),
                  std::string::npos)
            << v.health->message;
        for (const auto& r : v.records)
            EXPECT_EQ(r.kind, Kind::health);
    });
}

TEST(DockerSource, BacksOffExponentially) {
    DockerSource::Options options;
    options.socket_path = "/nonexistent/flowwall/docker.sock";
    options.backoff_min = 50ms;
    options.backoff_max = 200ms;
    RecordingSink sink;
    Running running(options, sink);
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.records.size() >= 5; }));
    running.stop();
    sink.inspect([](const RecordingSink::View& v) {
        // Gaps: 50, 100, 200, 200 ms (each plus the failed attempt, which is fast).
        const auto gap = [&](size_t i) { return v.records[i + 1].when - v.records[i].when; };
        EXPECT_GE(gap(0), 45ms);
        EXPECT_GE(gap(1), 95ms);
        EXPECT_GE(gap(2), 195ms);
        EXPECT_GE(gap(3), 195ms);
        EXPECT_LT(gap(3), 600ms);
    });
}

TEST(DockerSource, RecoversWhenTheDaemonComesBack) {
    FakeDocker fake;
    fake.set("/containers/json", 500, R"({"message":"daemon is starting"})");
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(
        [](const auto& v) { return v.health && v.health->state == SourceState::unavailable; }));
    sink.inspect([](const RecordingSink::View& v) {
        EXPECT_NE(v.health->message.find("HTTP 500: daemon is starting"), std::string::npos)
            << v.health->message;
    });
    fake.set("/containers/json", 200, list_of({}));
    ASSERT_TRUE(sink.wait_for(
        [](const auto& v) { return v.health && v.health->state == SourceState::synced; }));

    // The stream ends (daemon restart): unavailable, then synced again.
    for (int i = 0; i < 500 && fake.open_streams() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(fake.open_streams(), 1);
    const size_t mark = sink.size();
    fake.close_streams();
    ASSERT_TRUE(sink.wait_for([&](const auto& v) {
        bool lost = false;
        for (size_t i = mark; i < v.records.size(); ++i) {
            const auto& r = v.records[i];
            if (r.kind == Kind::health && r.health.state == SourceState::unavailable) {
                lost = true;
                EXPECT_NE(r.health.message.find("ended the stream"), std::string::npos)
                    << r.health.message;
            }
            if (lost && r.kind == Kind::replace_all)
                return true;
        }
        return false;
    }));
}

TEST(DockerSource, StopsPromptlyWhileARequestHangs) {
    FakeDocker fake;
    fake.set("/containers/json", 0, "");
    RecordingSink sink;
    Running running(options_for(fake), sink);
    std::this_thread::sleep_for(200ms);
    EXPECT_LT(running.stop(), 500ms);
}

} // namespace
} // namespace flowwall::identity::docker
