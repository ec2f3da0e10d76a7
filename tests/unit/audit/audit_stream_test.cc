// SPDX-License-Identifier: Apache-2.0
// The live fan-out behind `flowwall events`: ordering, bounded queues, closing, and the
// streaming HTTP body. Every wait is bounded so a regression fails instead of hanging.
#include "src/audit/audit_stream.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/audit/audit_test_support.h"

namespace flowwall::audit {
namespace {

using testing::numbered_record;
using testing::wait_until;
using namespace std::chrono_literals;

std::vector<uint64_t> sequence_numbers(const std::vector<AuditRecord>& records) {
    std::vector<uint64_t> numbers;
    for (const auto& record : records)
        numbers.push_back(record.suppressed);
    return numbers;
}

std::vector<uint64_t> range(uint64_t first, uint64_t end) {
    std::vector<uint64_t> numbers;
    for (uint64_t n = first; n < end; ++n)
        numbers.push_back(n);
    return numbers;
}

std::vector<AuditRecord> drain(AuditStream::Subscription& subscription) {
    std::vector<AuditRecord> records;
    while (auto record = subscription.next(0ms))
        records.push_back(*record);
    return records;
}

TEST(AuditStream, DeliversNewRecordsInOrder) {
    AuditStream stream;
    stream.publish(numbered_record(0)); // before subscribing: not delivered
    auto subscription = stream.subscribe();
    for (uint64_t n = 1; n <= 100; ++n)
        stream.publish(numbered_record(n));
    for (uint64_t n = 1; n <= 100; ++n) {
        auto record = subscription->next(1s);
        ASSERT_TRUE(record) << n;
        EXPECT_EQ(*record, numbered_record(n));
    }
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(subscription->next(20ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
    EXPECT_FALSE(subscription->closed());
    EXPECT_EQ(subscription->dropped(), 0u);
}

TEST(AuditStream, WakesAReaderWaitingForTheNextRecord) {
    AuditStream stream;
    auto subscription = stream.subscribe();
    std::optional<AuditRecord> received;
    std::thread reader([&] { received = subscription->next(10s); });
    std::this_thread::sleep_for(20ms);
    auto start = std::chrono::steady_clock::now();
    stream.publish(numbered_record(5));
    reader.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    ASSERT_TRUE(received);
    EXPECT_EQ(*received, numbered_record(5));
}

TEST(AuditStream, ASlowReaderLosesItsOldestRecordsAndNobodyElses) {
    AuditStream stream;
    auto slow = stream.subscribe(10);
    auto fast = stream.subscribe(2000);
    // With nobody reading, 1000 publishes must still return at once.
    std::atomic<bool> published{false};
    std::thread producer([&] {
        for (uint64_t n = 0; n < 1000; ++n)
            stream.publish(numbered_record(n));
        published = true;
    });
    bool finished = wait_until([&] { return published.load(); }, 5s);
    if (!finished)
        stream.close();
    producer.join();
    ASSERT_TRUE(finished) << "publish() blocked on a subscriber that does not read";

    EXPECT_EQ(slow->pending(), 10u);
    EXPECT_EQ(slow->dropped(), 990u);
    EXPECT_EQ(sequence_numbers(drain(*slow)), range(990, 1000));
    EXPECT_EQ(fast->dropped(), 0u);
    EXPECT_EQ(sequence_numbers(drain(*fast)), range(0, 1000));
}

TEST(AuditStream, CloseWakesAWaitingReader) {
    AuditStream stream;
    auto subscription = stream.subscribe();
    std::atomic<bool> returned{false};
    std::optional<AuditRecord> received;
    std::thread reader([&] {
        received = subscription->next(30s);
        returned = true;
    });
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(returned);
    stream.close();
    EXPECT_TRUE(wait_until([&] { return returned.load(); }, 5s));
    reader.join();
    EXPECT_FALSE(received);
    EXPECT_TRUE(subscription->closed());
    EXPECT_TRUE(stream.closed());
}

TEST(AuditStream, AfterCloseQueuedRecordsDrainThenNextReturnsAtOnce) {
    AuditStream stream;
    auto subscription = stream.subscribe();
    stream.publish(numbered_record(1));
    stream.publish(numbered_record(2));
    stream.close();
    stream.publish(numbered_record(3)); // ignored
    EXPECT_EQ(sequence_numbers(drain(*subscription)), range(1, 3));
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(subscription->next(10s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

    auto late = stream.subscribe();
    EXPECT_TRUE(late->closed());
    EXPECT_FALSE(late->next(10s));
}

TEST(AuditStream, DestroyingTheStreamClosesItsSubscriptions) {
    std::shared_ptr<AuditStream::Subscription> subscription;
    {
        AuditStream stream;
        subscription = stream.subscribe();
    }
    EXPECT_TRUE(subscription->closed());
    EXPECT_FALSE(subscription->next(10s));
}

TEST(AuditStream, DroppingTheSubscriptionUnsubscribes) {
    AuditStream stream;
    auto a = stream.subscribe();
    auto b = stream.subscribe();
    EXPECT_EQ(stream.subscribers(), 2u);
    b.reset();
    EXPECT_EQ(stream.subscribers(), 1u);
    stream.publish(numbered_record(1));
    EXPECT_EQ(stream.subscribers(), 1u);
    EXPECT_EQ(sequence_numbers(drain(*a)), range(1, 2));
}

TEST(AuditStream, RecentIsBoundedAndOldestFirst) {
    AuditStream stream(5);
    EXPECT_TRUE(stream.recent(10).empty());
    for (uint64_t n = 0; n < 8; ++n)
        stream.publish(numbered_record(n));
    EXPECT_EQ(sequence_numbers(stream.recent(100)), range(3, 8));
    EXPECT_EQ(sequence_numbers(stream.recent(2)), range(6, 8));
    EXPECT_TRUE(stream.recent(0).empty());

    AuditStream none(0);
    none.publish(numbered_record(1));
    EXPECT_TRUE(none.recent(10).empty());
}

// The connection side of a streaming response, in memory. write() can be held, as a client
// that stops reading holds the real one.
class FakeBodyWriter : public LineWriter {
public:
    bool write(std::string_view bytes) override {
        std::unique_lock lock(mutex_);
        ++writes_;
        changed_.notify_all();
        changed_.wait_for(lock, 10s, [&] { return !held_; });
        if (!accept_)
            return false;
        output_ += bytes;
        return true;
    }
    bool alive() override { return alive_; }

    void hang_up() { alive_ = false; }
    void refuse_writes() {
        std::lock_guard lock(mutex_);
        accept_ = false;
    }
    void hold(bool held) {
        {
            std::lock_guard lock(mutex_);
            held_ = held;
        }
        changed_.notify_all();
    }
    int writes() {
        std::lock_guard lock(mutex_);
        return writes_;
    }
    std::vector<nlohmann::json> lines() {
        std::lock_guard lock(mutex_);
        std::vector<nlohmann::json> lines;
        size_t start = 0;
        while (start < output_.size()) {
            size_t end = output_.find('\n', start);
            if (end == std::string::npos)
                break; // not a whole line yet
            lines.push_back(nlohmann::json::parse(output_.substr(start, end - start)));
            start = end + 1;
        }
        return lines;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::string output_;
    int writes_ = 0;
    bool held_ = false;
    bool accept_ = true;
    std::atomic<bool> alive_{true};
};

// Runs stream_json_lines on its own thread, as the API server does for a connection.
class Streamer {
public:
    Streamer(AuditStream& stream, FakeBodyWriter& writer, size_t queue_capacity = 4096)
        : stream_(stream), thread_([this, &writer, queue_capacity] {
              stream_json_lines(stream_, writer, 10ms, queue_capacity);
              done_ = true;
          }) {
        EXPECT_TRUE(wait_until([&] { return stream.subscribers() == 1; }));
    }
    ~Streamer() {
        if (!done_)
            stream_.close(); // do not hang the test binary on a failure
        thread_.join();
    }
    bool running() const { return !done_; }
    bool finishes() {
        return wait_until([&] { return done_.load(); }, 5s);
    }

private:
    AuditStream& stream_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

TEST(StreamJsonLines, WritesNewRecordsAsJsonLinesUntilTheClientHangsUp) {
    AuditStream stream;
    stream.publish(numbered_record(0)); // history is for `flowwall events`, not --follow
    FakeBodyWriter writer;
    Streamer streamer(stream, writer);
    for (uint64_t n = 1; n <= 3; ++n)
        stream.publish(numbered_record(n));
    ASSERT_TRUE(wait_until([&] { return writer.lines().size() == 3; }));
    auto lines = writer.lines();
    for (uint64_t n = 1; n <= 3; ++n) {
        auto record = from_json(lines[n - 1]);
        ASSERT_TRUE(record) << record.error().to_string();
        EXPECT_EQ(record.value(), numbered_record(n));
    }

    EXPECT_TRUE(streamer.running()); // while the client is there
    writer.hang_up();
    EXPECT_TRUE(streamer.finishes()) << "kept streaming to a client that is gone";
    EXPECT_TRUE(wait_until([&] { return stream.subscribers() == 0; }));
}

TEST(StreamJsonLines, StopsWhenAWriteFails) {
    AuditStream stream;
    FakeBodyWriter writer;
    Streamer streamer(stream, writer);
    writer.refuse_writes();
    stream.publish(numbered_record(1));
    EXPECT_TRUE(streamer.finishes());
    EXPECT_EQ(writer.writes(), 1);
}

TEST(StreamJsonLines, StopsWhenTheStreamCloses) {
    AuditStream stream;
    FakeBodyWriter writer;
    Streamer streamer(stream, writer);
    stream.publish(numbered_record(1));
    stream.close();
    EXPECT_TRUE(streamer.finishes());
    ASSERT_EQ(writer.lines().size(), 1u); // what was queued still went out
}

TEST(StreamJsonLines, TellsASlowClientHowManyRecordsItLost) {
    AuditStream stream;
    FakeBodyWriter writer;
    Streamer streamer(stream, writer, 4);
    writer.hold(true); // the client stops reading
    stream.publish(numbered_record(0));
    ASSERT_TRUE(wait_until([&] { return writer.writes() == 1; }));
    for (uint64_t n = 1; n <= 20; ++n)
        stream.publish(numbered_record(n));
    writer.hold(false);

    ASSERT_TRUE(wait_until([&] { return writer.lines().size() == 6; }));
    auto lines = writer.lines();
    EXPECT_EQ(lines[0]["suppressed"], 0);
    EXPECT_EQ(lines[1], nlohmann::json({{"dropped", 16}}));
    for (uint64_t n = 17; n <= 20; ++n)
        EXPECT_EQ(lines[n - 15]["suppressed"], n);
    EXPECT_TRUE(streamer.running());

    // Later records follow with no further drop line.
    stream.publish(numbered_record(21));
    ASSERT_TRUE(wait_until([&] { return writer.lines().size() == 7; }));
    EXPECT_EQ(writer.lines()[6]["suppressed"], 21);
}

} // namespace
} // namespace flowwall::audit
