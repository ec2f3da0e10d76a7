// SPDX-License-Identifier: Apache-2.0
// The model's publish queue (publish_queue.h): one entry per key whatever the outage, bounded,
// persisted so that a restart loses nothing, replayed in order, and a bad file refused with a
// message naming it (the caller then sets it aside and republishes the model).
#include "src/cluster/publish_queue.h"

#include "src/cluster/cluster_keys.h"
#include "src/cluster/model_values.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

namespace flowwall::cluster {
namespace {

using testing::TempDir;

std::string key(int i) {
    return flow_key("n1", {"web", "db", static_cast<uint16_t>(1000 + i), 6});
}

TEST(PublishQueue, AFirstStartHasAnEmptyQueueAndSaysSo) {
    TempDir dir;
    auto queue = PublishQueue::load(dir / kPublishQueueFile, "n1");
    ASSERT_TRUE(queue) << queue.error().message;
    EXPECT_TRUE(queue.value().first_start());
    EXPECT_TRUE(queue.value().empty());
}

TEST(PublishQueue, ALaterValueOfAKeyReplacesTheQueuedOne) {
    TempDir dir;
    auto queue = PublishQueue::load(dir / kPublishQueueFile, "n1").value();
    EXPECT_TRUE(queue.push(key(1), "a"));
    EXPECT_TRUE(queue.push(key(1), "b"));
    EXPECT_EQ(queue.size(), 1u);
    EXPECT_EQ(*queue.find(key(1)), "b");
}

TEST(PublishQueue, IsBoundedAndRemembersItOverflowed) {
    TempDir dir;
    auto queue = PublishQueue::load(dir / kPublishQueueFile, "n1", 3).value();
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(queue.push(key(i), "v"));
    EXPECT_FALSE(queue.push(key(3), "v")) << "full";
    EXPECT_TRUE(queue.push(key(0), "w")) << "a queued key still takes its newer value";
    EXPECT_EQ(queue.size(), 3u);
    EXPECT_EQ(queue.dropped(), 1u);
    EXPECT_TRUE(queue.overflowed());
    ASSERT_TRUE(queue.save());
    auto reloaded = PublishQueue::load(dir / kPublishQueueFile, "n1", 3);
    ASSERT_TRUE(reloaded) << reloaded.error().message;
    EXPECT_TRUE(reloaded.value().overflowed()) << "a restart still republishes the model";
}

TEST(PublishQueue, IsPersistedAndReplayedInOrderAfterARestart) {
    TempDir dir;
    {
        auto queue = PublishQueue::load(dir / kPublishQueueFile, "n1").value();
        for (int i = 0; i < 300; ++i)
            queue.push(key(i), encode_flow_removal());
        queue.push(identity_key("n1", "web"), "x");
        ASSERT_TRUE(queue.dirty());
        ASSERT_TRUE(queue.save());
        EXPECT_FALSE(queue.dirty());
    } // a restart
    auto queue = PublishQueue::load(dir / kPublishQueueFile, "n1");
    ASSERT_TRUE(queue) << queue.error().message;
    EXPECT_FALSE(queue.value().first_start());
    ASSERT_EQ(queue.value().size(), 301u);
    size_t replayed = 0;
    std::string last;
    while (!queue.value().empty()) {
        auto batch = queue.value().peek(128);
        ASSERT_LE(batch.size(), 128u);
        for (const auto& [k, v] : batch) {
            EXPECT_LT(last, k) << "in key order, each once";
            last = k;
        }
        replayed += batch.size();
        queue.value().done(batch);
    }
    EXPECT_EQ(replayed, 301u);
}

TEST(PublishQueue, AnEntryChangedWhilePublishingStaysQueued) {
    TempDir dir;
    auto queue = PublishQueue::load(dir / kPublishQueueFile, "n1").value();
    queue.push(key(1), "old");
    auto batch = queue.peek(10);
    queue.push(key(1), "new");
    queue.done(batch);
    ASSERT_EQ(queue.size(), 1u);
    EXPECT_EQ(*queue.find(key(1)), "new");
}

TEST(PublishQueue, ABadFileIsRefusedNamingItAndCanBeSetAside) {
    TempDir dir;
    auto file = dir / kPublishQueueFile;
    const std::pair<std::string, const char*> cases[] = {
        {"", "not a JSON object"},
        {"{\"version\":1,\"node\":\"n1\",\"entries\":[", "not a JSON object"},
        {R"({"version":2,"node":"n1","entries":[]})", "version is not 1"},
        {R"({"version":1,"node":"n2","entries":[]})", "another node"},
        {R"({"version":1,"node":"n1","entries":{}})", "\"entries\" is not an array"},
        {R"({"version":1,"node":"n1","entries":[{"key":1,"value":"x"}]})", "entry 0"},
        {R"({"version":1,"node":"n1","entries":[{"key":"flowwall/v1/flows/n2/web,db,80,6","value":"x"}]})",
         "is not one of this node's"},
        {R"({"version":1,"node":"n1","entries":[{"key":"flowwall/v1/endpoints/n1/198.18.0.1","value":"x"}]})",
         "is not one of this node's"},
        {R"({"version":1,"node":"n1","entries":[{"key":"flowwall/v1/flows/n1/web,db,99999,6","value":"x"}]})",
         "is not one of this node's"},
        {R"({"version":1,"node":"n1","overflowed":"no","entries":[]})", "overflowed"},
        {R"({"version":1,"node":"n1","extra":1})", "unknown field"},
    };
    for (const auto& [text, why] : cases) {
        TempDir::write(file, text);
        auto queue = PublishQueue::load(file, "n1");
        ASSERT_FALSE(queue) << text;
        EXPECT_NE(queue.error().message.find(file.string()), std::string::npos)
            << queue.error().message;
        EXPECT_NE(queue.error().message.find(why), std::string::npos)
            << text << ": " << queue.error().message;
    }
    // More entries than the queue holds is not a file this node wrote.
    TempDir::write(file, R"({"version":1,"node":"n1","entries":[)"
                         R"({"key":"flowwall/v1/flows/n1/web,db,80,6","value":"x"},)"
                         R"({"key":"flowwall/v1/flows/n1/web,db,81,6","value":"x"}]})");
    EXPECT_FALSE(PublishQueue::load(file, "n1", 1));
    ASSERT_TRUE(PublishQueue::set_aside(file));
    EXPECT_TRUE(std::filesystem::exists(file.string() + ".corrupt"));
    auto fresh = PublishQueue::load(file, "n1");
    ASSERT_TRUE(fresh);
    EXPECT_TRUE(fresh.value().empty());
}

} // namespace
} // namespace flowwall::cluster
