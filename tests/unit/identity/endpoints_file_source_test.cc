// SPDX-License-Identifier: Apache-2.0
#include "src/identity/static/endpoints_file_source.h"

#include <sys/stat.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "src/common/atomic_file.h"
#include "tests/support/temp_dir.h"

namespace flowwall::identity {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

constexpr auto kPatience = 5s;

class RecordingSink : public WorkloadSink {
public:
    void replace_all(const std::string& source, std::vector<Workload> workloads) override {
        std::lock_guard lock(mutex_);
        EXPECT_EQ(source, "endpoints-file");
        sets_.push_back(std::move(workloads));
        changed_.notify_all();
    }
    void upsert(Workload) override { ADD_FAILURE() << "the file source sends whole sets only"; }
    void remove(const std::string&, const std::string&) override {
        ADD_FAILURE() << "the file source sends whole sets only";
    }
    void health(const std::string& source, SourceHealth health) override {
        std::lock_guard lock(mutex_);
        EXPECT_EQ(source, "endpoints-file");
        healths_.push_back(std::move(health));
        changed_.notify_all();
    }

    // Waits (bounded) until `done` holds over what was received so far.
    bool wait_for(const std::function<bool(const std::vector<std::vector<Workload>>&,
                                           const std::vector<SourceHealth>&)>& done) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kPatience, [&] { return done(sets_, healths_); });
    }
    size_t set_count() {
        std::lock_guard lock(mutex_);
        return sets_.size();
    }
    std::vector<Workload> last_set() {
        std::lock_guard lock(mutex_);
        return sets_.empty() ? std::vector<Workload>{} : sets_.back();
    }
    SourceHealth last_health() {
        std::lock_guard lock(mutex_);
        return healths_.empty() ? SourceHealth{} : healths_.back();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::vector<Workload>> sets_;
    std::vector<SourceHealth> healths_;
};

std::string endpoints_with(const std::string& name, const std::string& address) {
    return R"({"endpoints": [{"name": ")" + name +
           R"(", "identity": "web", "netns": "/run/netns/web", "addresses": [")" + address +
           R"("]}]})";
}

bool last_set_is(const std::vector<std::vector<Workload>>& sets, const std::string& name) {
    return !sets.empty() && sets.back().size() == 1 && sets.back()[0].name == name;
}

bool last_health_is(const std::vector<SourceHealth>& healths, SourceState state) {
    return !healths.empty() && healths.back().state == state;
}

class EndpointsFileSourceTest : public ::testing::Test {
protected:
    // A long stat interval so that the tests see inotify at work; the stat fallback has a
    // test of its own.
    void start(std::chrono::milliseconds stat_interval = 10s) {
        source_ = std::make_unique<EndpointsFileSource>(file_, stat_interval);
        thread_ = std::jthread([this](std::stop_token stop) { source_->run(sink_, stop); });
    }
    void TearDown() override {
        if (thread_.joinable()) {
            auto begin = std::chrono::steady_clock::now();
            thread_.request_stop();
            thread_.join();
            EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
        }
    }
    void write_atomically(const std::string& content) {
        ASSERT_TRUE(common::write_file_atomically(file_, content).ok());
    }

    TempDir dir_;
    std::filesystem::path file_ = dir_ / "endpoints.json";
    RecordingSink sink_;
    std::unique_ptr<EndpointsFileSource> source_;
    std::jthread thread_;
};

TEST_F(EndpointsFileSourceTest, SendsTheSetAndReportsSynced) {
    write_atomically(endpoints_with("web-1", "198.18.1.2"));
    start();
    ASSERT_TRUE(sink_.wait_for([](const auto& sets, const auto& healths) {
        return last_set_is(sets, "web-1") && last_health_is(healths, SourceState::synced);
    }));
    auto workload = sink_.last_set()[0];
    EXPECT_EQ(workload.key, "file/web-1");
    // The file's mtime decides address conflicts against other sources.
    struct stat info {};
    ASSERT_EQ(::stat(file_.c_str(), &info), 0);
    EXPECT_EQ(workload.started_ns,
              int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec);
    auto health = sink_.last_health();
    EXPECT_NE(health.message.find("1 endpoints"), std::string::npos) << health.message;
    EXPECT_NE(health.last_sync, std::chrono::system_clock::time_point{});
    EXPECT_EQ(source_->name(), "endpoints-file");
}

TEST_F(EndpointsFileSourceTest, ABadFileKeepsTheLastGoodSetUntilItIsFixed) {
    write_atomically(endpoints_with("web-1", "198.18.1.2"));
    start();
    ASSERT_TRUE(
        sink_.wait_for([](const auto& sets, const auto&) { return last_set_is(sets, "web-1"); }));
    size_t sets_before = sink_.set_count();

    write_atomically(R"({"endpoints": [{"name": "web-2"}]})");
    ASSERT_TRUE(sink_.wait_for([](const auto&, const auto& healths) {
        return last_health_is(healths, SourceState::unavailable);
    }));
    auto health = sink_.last_health();
    EXPECT_NE(health.message.find("\"identity\" is missing"), std::string::npos) << health.message;
    EXPECT_NE(health.message.find("keeping the last good 1 endpoints"), std::string::npos)
        << health.message;
    EXPECT_GE(health.errors, 1u);
    EXPECT_EQ(sink_.set_count(), sets_before);

    // Fixed in place, the way an editor without rename-over saves.
    TempDir::write(file_, endpoints_with("web-2", "198.18.1.3"));
    ASSERT_TRUE(sink_.wait_for([](const auto& sets, const auto& healths) {
        return last_set_is(sets, "web-2") && last_health_is(healths, SourceState::synced);
    }));
    EXPECT_EQ(sink_.last_set()[0].addresses[0].to_string(), "198.18.1.3");
}

TEST_F(EndpointsFileSourceTest, AMissingFileIsUnavailableAndPickedUpWhenItAppears) {
    start();
    ASSERT_TRUE(sink_.wait_for([](const auto&, const auto& healths) {
        return last_health_is(healths, SourceState::unavailable);
    }));
    auto health = sink_.last_health();
    EXPECT_NE(health.message.find("does not exist"), std::string::npos) << health.message;
    EXPECT_NE(health.message.find(file_.string()), std::string::npos) << health.message;
    EXPECT_EQ(sink_.set_count(), 0u);

    write_atomically(endpoints_with("web-1", "198.18.1.2"));
    ASSERT_TRUE(sink_.wait_for([](const auto& sets, const auto& healths) {
        return last_set_is(sets, "web-1") && last_health_is(healths, SourceState::synced);
    }));
}

TEST_F(EndpointsFileSourceTest, ARemovedFileKeepsTheWorkloads) {
    write_atomically(endpoints_with("web-1", "198.18.1.2"));
    start();
    ASSERT_TRUE(
        sink_.wait_for([](const auto& sets, const auto&) { return last_set_is(sets, "web-1"); }));
    size_t sets_before = sink_.set_count();
    std::filesystem::remove(file_);
    ASSERT_TRUE(sink_.wait_for([](const auto&, const auto& healths) {
        return last_health_is(healths, SourceState::unavailable);
    }));
    EXPECT_EQ(sink_.set_count(), sets_before);
}

TEST_F(EndpointsFileSourceTest, TheStatFallbackNoticesChangesWithoutInotify) {
    // The directory appears only after start, so no inotify watch exists at first.
    file_ = dir_ / "later" / "endpoints.json";
    start(200ms);
    ASSERT_TRUE(sink_.wait_for([](const auto&, const auto& healths) {
        return last_health_is(healths, SourceState::unavailable);
    }));
    std::filesystem::create_directory(dir_ / "later");
    write_atomically(endpoints_with("web-1", "198.18.1.2"));
    ASSERT_TRUE(
        sink_.wait_for([](const auto& sets, const auto&) { return last_set_is(sets, "web-1"); }));
}

TEST(EndpointsFileSource, StopsPromptlyWhileWaiting) {
    TempDir dir;
    RecordingSink sink;
    EndpointsFileSource source(dir / "absent.json", std::chrono::minutes(1));
    std::jthread thread([&](std::stop_token stop) { source.run(sink, stop); });
    ASSERT_TRUE(sink.wait_for([](const auto&, const auto& healths) { return !healths.empty(); }));
    auto begin = std::chrono::steady_clock::now();
    thread.request_stop();
    thread.join();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
}

} // namespace
} // namespace flowwall::identity
