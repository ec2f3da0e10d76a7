// SPDX-License-Identifier: Apache-2.0
// DockerSource against the real dockerd: what a container's life looks like to the daemon's
// sink, with the times that matter (a started container must be guarded within a second).
// The daemon is shared with other suites and is never stopped here.
#include "src/identity/docker/docker_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "tests/support/docker_host.h"
#include "tests/support/recording_sink.h"
#include "tests/support/require_root.h"
#include "tests/support/running_source.h"

namespace flowwall::identity::docker {
namespace {

using namespace std::chrono_literals;
using flowwall::testing::DockerScope;
using flowwall::testing::RecordingSink;
using Kind = RecordingSink::Kind;
using View = RecordingSink::View;

constexpr const char* kWebImage = "flowwall-test/web:1";
constexpr const char* kDbImage = "flowwall-test/db:1";

using Running = flowwall::testing::RunningSource<DockerSource>;

std::string key_of(const std::string& id) {
    return "docker/" + id;
}

bool has_address(const Workload& w, const std::string& ip) {
    auto want = IpAddress::parse(ip);
    return want.ok() &&
           std::find(w.addresses.begin(), w.addresses.end(), want.value()) != w.addresses.end();
}

// The last upsert of `key` recorded at or after record index `from`.
std::optional<RecordingSink::Record> last_upsert(const View& v, const std::string& key,
                                                 size_t from = 0) {
    std::optional<RecordingSink::Record> found;
    for (size_t i = from; i < v.records.size(); ++i)
        if (v.records[i].kind == Kind::upsert && v.records[i].workloads[0].key == key)
            found = v.records[i];
    return found;
}

class DockerSourceE2e : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("talks to dockerd and starts containers");
        flowwall::testing::ensure_dockerd();
        flowwall::testing::ensure_busybox_image(kWebImage);
        flowwall::testing::ensure_busybox_image(kDbImage);
        scope_.emplace();
        network_ = scope_->create_network("net");
    }

    std::unique_ptr<Running> start_source(RecordingSink& sink) {
        DockerSource::Options options;
        auto running = std::make_unique<Running>(options, sink);
        EXPECT_TRUE(sink.wait_for([](const View& v) {
            return v.health && v.health->state == SourceState::synced;
        })) << "the source did not sync with "
            << flowwall::testing::kDockerSocket;
        return running;
    }

    std::string run(const std::string& base, const char* image) {
        return scope_->run(base, {"--network", network_, image, "sleep", "3600"});
    }

    std::optional<DockerScope> scope_;
    std::string network_;
};

TEST_F(DockerSourceE2e, InitialListingHasTheRunningContainers) {
    const std::string web = run("web", kWebImage);
    const std::string db = run("db", kDbImage);
    RecordingSink sink;
    auto source = start_source(sink);
    sink.inspect([&](const View& v) {
        ASSERT_EQ(v.records.front().kind, Kind::replace_all);
        const auto& all = v.records.front().workloads;
        const auto find = [&](const std::string& id) {
            auto it = std::find_if(all.begin(), all.end(),
                                   [&](const Workload& w) { return w.key == key_of(id); });
            return it == all.end() ? std::optional<Workload>() : std::optional(*it);
        };
        auto w = find(web), d = find(db);
        ASSERT_TRUE(w && d);
        EXPECT_EQ(w->identity, "flowwall-test/web");
        EXPECT_EQ(w->name, scope_->name("web"));
        EXPECT_EQ(w->image, kWebImage);
        EXPECT_EQ(d->identity, "flowwall-test/db");
        EXPECT_TRUE(has_address(*w, flowwall::testing::container_ip(web, network_)));
        EXPECT_TRUE(has_address(*d, flowwall::testing::container_ip(db, network_)));
        EXPECT_TRUE(std::filesystem::exists(w->netns_path)) << w->netns_path;
        EXPECT_GT(w->started_ns, 0);
    });
}

TEST_F(DockerSourceE2e, StartedContainerArrivesWithinASecond) {
    RecordingSink sink;
    auto source = start_source(sink);
    const std::string id = run("db", kDbImage);
    ASSERT_TRUE(sink.wait_for([&](const View& v) { return v.state.count(key_of(id)) > 0; }));
    const std::string ip = flowwall::testing::container_ip(id, network_);
    sink.inspect([&](const View& v) {
        auto record = last_upsert(v, key_of(id));
        ASSERT_TRUE(record);
        const Workload& w = record->workloads[0];
        EXPECT_EQ(w.identity, "flowwall-test/db");
        EXPECT_EQ(w.source, "docker");
        EXPECT_TRUE(has_address(w, ip)) << ip;
        EXPECT_TRUE(std::filesystem::exists(w.netns_path)) << w.netns_path;
        // From dockerd's own start time to the sink.
        const auto wall_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(record->wall.time_since_epoch())
                .count();
        const double latency_ms = double(wall_ns - w.started_ns) / 1e6;
        EXPECT_LT(latency_ms, 1000.0);
        std::printf("start -> upsert: %.1f ms\n", latency_ms);
    });
}

TEST_F(DockerSourceE2e, StartLatencyOfTenStarts) {
    RecordingSink sink;
    auto source = start_source(sink);
    std::vector<double> latencies_ms;
    for (int i = 0; i < 10; ++i) {
        const std::string id = run("burst" + std::to_string(i), i % 2 ? kWebImage : kDbImage);
        ASSERT_TRUE(sink.wait_for([&](const View& v) { return v.state.count(key_of(id)) > 0; }));
        sink.inspect([&](const View& v) {
            auto record = last_upsert(v, key_of(id));
            ASSERT_TRUE(record);
            const auto wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     record->wall.time_since_epoch())
                                     .count();
            latencies_ms.push_back(double(wall_ns - record->workloads[0].started_ns) / 1e6);
        });
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    const double median = (latencies_ms[4] + latencies_ms[5]) / 2;
    std::printf("start -> upsert over 10 starts: median %.1f ms, worst %.1f ms\n", median,
                latencies_ms.back());
    EXPECT_LT(median, 100.0);
    EXPECT_LT(latencies_ms.back(), 1000.0);
}

TEST_F(DockerSourceE2e, RestartKeepsTheIdentityAndFollowsTheAddress) {
    RecordingSink sink;
    auto source = start_source(sink);
    const std::string id = run("web", kWebImage);
    const std::string first_ip = flowwall::testing::container_ip(id, network_);
    ASSERT_TRUE(sink.wait_for([&](const View& v) {
        auto it = v.state.find(key_of(id));
        return it != v.state.end() && has_address(it->second, first_ip);
    }));
    const int64_t first_start = sink.workload(key_of(id))->started_ns;

    // docker restart: same address, later start time, same identity.
    size_t mark = sink.size();
    flowwall::testing::docker_ok({"restart", "--time", "0", id});
    ASSERT_TRUE(sink.wait_for([&](const View& v) {
        auto r = last_upsert(v, key_of(id), mark);
        return r && r->workloads[0].started_ns > first_start && v.state.count(key_of(id));
    }));
    EXPECT_EQ(sink.workload(key_of(id))->identity, "flowwall-test/web");

    // Stopped: removed.
    flowwall::testing::docker_ok({"stop", "--time", "0", id});
    ASSERT_TRUE(sink.wait_for([&](const View& v) { return v.state.count(key_of(id)) == 0; }));

    // Its address taken by another container meanwhile, it comes back on a new one.
    const std::string squatter = run("squatter", kDbImage);
    ASSERT_EQ(flowwall::testing::container_ip(squatter, network_), first_ip)
        << "expected dockerd to hand the freed address to the next container";
    mark = sink.size();
    flowwall::testing::docker_ok({"start", id});
    const std::string second_ip = flowwall::testing::container_ip(id, network_);
    ASSERT_NE(second_ip, first_ip);
    ASSERT_TRUE(sink.wait_for([&](const View& v) {
        auto r = last_upsert(v, key_of(id), mark);
        return r && has_address(r->workloads[0], second_ip);
    }));
    auto w = sink.workload(key_of(id));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->identity, "flowwall-test/web");
    EXPECT_FALSE(has_address(*w, first_ip));
    // The squatter owns the old address under its own identity.
    auto s = sink.workload(key_of(squatter));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->identity, "flowwall-test/db");
    EXPECT_TRUE(has_address(*s, first_ip));
}

TEST_F(DockerSourceE2e, NetworkDisconnectAndConnectAreFollowed) {
    RecordingSink sink;
    auto source = start_source(sink);
    const std::string id = run("web", kWebImage);
    const std::string ip = flowwall::testing::container_ip(id, network_);
    ASSERT_TRUE(sink.wait_for([&](const View& v) {
        auto it = v.state.find(key_of(id));
        return it != v.state.end() && has_address(it->second, ip);
    }));
    flowwall::testing::docker_ok({"network", "disconnect", network_, id});
    ASSERT_TRUE(sink.wait_for([&](const View& v) {
        auto it = v.state.find(key_of(id));
        return it != v.state.end() && it->second.addresses.empty();
    }));
    std::string second_subnet;
    const std::string second = scope_->create_network("net2", &second_subnet);
    flowwall::testing::docker_ok({"network", "connect", second, id});
    const std::string second_ip = flowwall::testing::container_ip(id, second);
    ASSERT_TRUE(sink.wait_for([&](const View& v) {
        auto it = v.state.find(key_of(id));
        return it != v.state.end() && has_address(it->second, second_ip);
    }));
}

TEST_F(DockerSourceE2e, RemovedAndHostNetworkContainersAreNotWorkloads) {
    RecordingSink sink;
    auto source = start_source(sink);
    const std::string host = scope_->run("host", {"--network", "host", kWebImage, "sleep", "3600"});
    const std::string id = run("web", kWebImage);
    ASSERT_TRUE(sink.wait_for([&](const View& v) { return v.state.count(key_of(id)) > 0; }));
    scope_->remove_container(scope_->name("web"));
    ASSERT_TRUE(sink.wait_for([&](const View& v) { return v.state.count(key_of(id)) == 0; }));
    sink.inspect([&](const View& v) {
        EXPECT_EQ(v.state.count(key_of(host)), 0u);
        EXPECT_FALSE(last_upsert(v, key_of(host)));
    });
}

TEST_F(DockerSourceE2e, MissingSocketIsUnavailableAndStopsPromptly) {
    DockerSource::Options options;
    options.socket_path = "/run/flowwall-test-no-such-dir/docker.sock";
    RecordingSink sink;
    Running running(options, sink);
    ASSERT_TRUE(sink.wait_for([](const View& v) { return v.health.has_value(); }));
    sink.inspect([](const View& v) {
        EXPECT_EQ(v.health->state, SourceState::unavailable);
        EXPECT_NE(v.health->message.find("cannot reach the Docker daemon at "
                                         "/run/flowwall-test-no-such-dir/docker.sock"),
                  std::string::npos)
            << v.health->message;
        EXPECT_NE(v.health->message.find("is dockerd running?"), std::string::npos);
    });
    EXPECT_LT(running.stop(), 1s);
}

} // namespace
} // namespace flowwall::identity::docker
