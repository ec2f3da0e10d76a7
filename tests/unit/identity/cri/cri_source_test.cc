// SPDX-License-Identifier: Apache-2.0
// CriSource against a fake runtime over real gRPC: listing, the poll diff, removal, a runtime
// that goes away and comes back, broken answers.
#include "src/identity/cri/cri_source.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/recording_sink.h"
#include "tests/support/running_source.h"
#include "tests/unit/identity/cri/fake_cri_runtime.h"

namespace flowwall::identity::cri {
namespace {

using namespace std::chrono_literals;
using flowwall::testing::FakeCriRuntime;
using flowwall::testing::FakePod;
using flowwall::testing::RecordingSink;
using Kind = RecordingSink::Kind;
using Running = flowwall::testing::RunningSource<CriSource>;

FakePod pod(const std::string& id, const std::string& ip, const std::string& image) {
    FakePod pod;
    pod.id = id;
    pod.name = "pod-" + id;
    pod.ips = {ip};
    pod.netns_path = "/var/run/netns/cni-" + id;
    pod.containers = {{"c-" + id, "app", image, 10}};
    return pod;
}

CriSource::Options options_for(const FakeCriRuntime& fake) {
    CriSource::Options options;
    options.socket_path = fake.socket_path();
    options.poll_interval = 20ms;
    options.backoff_min = 20ms;
    options.backoff_max = 100ms;
    options.request_timeout = 500ms;
    return options;
}

bool synced(const RecordingSink::View& v) {
    return v.health && v.health->state == SourceState::synced;
}

TEST(CriSource, ListsReadyPodsSkipsHostNetworkAndReportsHealth) {
    FakeCriRuntime fake;
    fake.set_pod(pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7"));
    auto host = pod("p2", "192.0.2.1", "docker.io/library/agent:1");
    host.host_network = true;
    fake.set_pod(host);
    auto not_ready = pod("p3", "198.18.1.3", "docker.io/library/web:1");
    not_ready.ready = false;
    fake.set_pod(not_ready);
    RecordingSink sink;
    Running running(options_for(fake), sink);

    ASSERT_TRUE(sink.wait_for(synced));
    sink.inspect([](const RecordingSink::View& v) {
        ASSERT_EQ(v.records.front().kind, Kind::replace_all);
        const auto& all = v.records.front().workloads;
        ASSERT_EQ(all.size(), 1u);
        EXPECT_EQ(all[0].key, "cri/p1");
        EXPECT_EQ(all[0].identity, "shop/mysql");
        EXPECT_EQ(all[0].name, "shop/pod-p1");
        EXPECT_EQ(all[0].netns_path, "/var/run/netns/cni-p1");
        EXPECT_EQ(v.health->message.rfind("2 ready pods, 1 with a network of their own (", 0), 0u)
            << v.health->message;
    });
}

TEST(CriSource, PollsReReadOnlyWhatChanged) {
    FakeCriRuntime fake;
    fake.set_pod(pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7"));
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(synced));
    // Several polls with nothing new: no status is read again.
    const int lists = fake.calls("ListPodSandbox");
    for (int i = 0; i < 250 && fake.calls("ListPodSandbox") < lists + 5; ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_GE(fake.calls("ListPodSandbox"), lists + 5);
    EXPECT_EQ(fake.calls("PodSandboxStatus"), 1);
    EXPECT_EQ(fake.calls("ContainerStatus"), 1);

    // A new pod: one upsert, one status read.
    fake.set_pod(pod("p2", "198.18.1.3", "docker.io/library/redis:7"));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.contains("cri/p2"); }));
    EXPECT_EQ(sink.workload("cri/p2")->identity, "shop/redis");
    EXPECT_EQ(fake.calls("PodSandboxStatus"), 2);

    // A pod gone: removed.
    fake.remove_pod("p1");
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return !v.state.contains("cri/p1"); }));
    EXPECT_EQ(sink.count(Kind::remove), 1u);
    EXPECT_EQ(sink.count(Kind::replace_all), 1u);
}

TEST(CriSource, APodIsReportedOnceItsFirstContainerRuns) {
    FakeCriRuntime fake;
    auto empty = pod("p1", "198.18.1.2", "");
    empty.containers.clear();
    fake.set_pod(empty);
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(synced));
    EXPECT_FALSE(sink.workload("cri/p1"));
    fake.set_pod(pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7"));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.contains("cri/p1"); }));
    EXPECT_EQ(sink.workload("cri/p1")->identity, "shop/mysql");
}

// CRI-O and containerd >= 1.7 stream GetContainerEvents; no runtime here offers it (Debian
// 12's containerd is 1.6, without the call), so only the fake shows that the source follows
// it. With the regular polls an hour apart, only an event can bring the new pod in.
TEST(CriSource, FollowsCriContainerEventsWhereTheRuntimeOffersThem) {
    FakeCriRuntime fake;
    fake.offer_container_events(true);
    auto options = options_for(fake);
    options.poll_interval = std::chrono::hours(1);
    options.poll_interval_with_events = std::chrono::hours(1);
    options.resync_interval = std::chrono::hours(2);
    RecordingSink sink;
    Running running(options, sink);
    ASSERT_TRUE(sink.wait_for(synced));
    // The stream is open once the runtime counted the call; an event before it would be lost
    // to this test (the source itself would catch it at the next poll).
    for (int i = 0; i < 250 && fake.calls("GetContainerEvents") == 0; ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_GT(fake.calls("GetContainerEvents"), 0);
    std::this_thread::sleep_for(100ms);

    fake.set_pod(pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7"));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.contains("cri/p1"); }, 10s))
        << "the pod was not reported: the source did not follow GetContainerEvents";
    sink.inspect([](const RecordingSink::View& v) {
        EXPECT_NE(v.health->message.find("CRI container events"), std::string::npos)
            << v.health->message;
    });
}

TEST(CriSource, WithoutAnyRuntimeEventsItPolls) {
    FakeCriRuntime fake; // GetContainerEvents answers UNIMPLEMENTED, as containerd 1.6 does
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(synced));
    fake.set_pod(pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7"));
    ASSERT_TRUE(sink.wait_for([](const auto& v) { return v.state.contains("cri/p1"); }));
    for (int i = 0; i < 250 && fake.calls("GetContainerEvents") == 0; ++i)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(fake.calls("GetContainerEvents"), 1) << "UNIMPLEMENTED is not asked again";
}

TEST(CriSource, RuntimeGoneIsReportedAndTheReturnResyncsWithoutStaleEntries) {
    FakeCriRuntime fake;
    fake.set_pod(pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7"));
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(synced));

    fake.stop();
    ASSERT_TRUE(sink.wait_for(
        [](const auto& v) { return v.health && v.health->state == SourceState::unavailable; }));
    // Nothing was removed while the runtime was away: enforcement stays.
    EXPECT_TRUE(sink.workload("cri/p1"));
    EXPECT_EQ(sink.count(Kind::remove), 0u);

    fake.remove_pod("p1");
    fake.set_pod(pod("p9", "198.18.1.9", "docker.io/library/redis:7"));
    fake.start();
    ASSERT_TRUE(
        sink.wait_for([](const auto& v) { return synced(v) && v.state.contains("cri/p9"); }, 10s));
    EXPECT_FALSE(sink.workload("cri/p1"));
    EXPECT_EQ(sink.count(Kind::replace_all), 2u);
}

TEST(CriSource, NoSocketIsReportedClearly) {
    CriSource::Options options;
    options.socket_path = "/nonexistent/flowwall-test/cri.sock";
    options.backoff_min = 20ms;
    options.backoff_max = 50ms;
    RecordingSink sink;
    Running running(options, sink);
    ASSERT_TRUE(sink.wait_for(
        [](const auto& v) { return v.health && v.health->state == SourceState::unavailable; }));
    sink.inspect([](const auto& v) {
        EXPECT_NE(v.health->message.find("CRI Version"), std::string::npos) << v.health->message;
    });
}

TEST(CriSource, BrokenAnswersAreSkippedAndTheRestReported) {
    FakeCriRuntime fake;
    auto broken = pod("p1", "198.18.1.2", "docker.io/library/mysql:5.7");
    broken.no_metadata = true;
    fake.set_pod(broken);
    auto bad_ip = pod("p2", "not-an-ip", "docker.io/library/mysql:5.7");
    fake.set_pod(bad_ip);
    auto pid_only = pod("p3", "198.18.1.3", "docker.io/library/redis:7");
    pid_only.netns_path.clear();
    pid_only.pid = 4242;
    fake.set_pod(pid_only);
    RecordingSink sink;
    Running running(options_for(fake), sink);
    ASSERT_TRUE(sink.wait_for(synced));
    sink.inspect([](const auto& v) {
        ASSERT_EQ(v.state.size(), 1u);
        EXPECT_EQ(v.state.begin()->second.netns_path, "/proc/4242/ns/net");
        EXPECT_GE(v.health->errors, 1u);
    });
}

} // namespace
} // namespace flowwall::identity::cri
