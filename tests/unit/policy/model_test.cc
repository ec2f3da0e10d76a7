// SPDX-License-Identifier: Apache-2.0
#include "src/policy/model.h"

#include <algorithm>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace flowwall::policy {
namespace {

using std::chrono::seconds;

TimePoint at(int64_t unix_seconds) {
    return TimePoint(seconds(unix_seconds));
}

const FlowKey kWebDb{"web", "db", 3306, kProtocolTcp};
const FlowKey kApiDb{"api", "db", 3306, kProtocolTcp};
const FlowKey kWebApi{"web", "api", 8080, kProtocolTcp};
const FlowKey kWebPing{"web", "db", 0, kProtocolIcmp};

TEST(Model, RecordAddsThenUpdates) {
    Model model;
    EXPECT_TRUE(model.record(kWebDb, at(1000), "n1", "web-1"));
    EXPECT_FALSE(model.record(kWebDb, at(1010), "n2", "web-2", 5));
    // Events can arrive out of order (several CPUs, a ring buffer read late).
    EXPECT_FALSE(model.record(kWebDb, at(990), "n1", "web-1"));
    ASSERT_EQ(model.size(), 1u);
    const FlowRecord* record = model.find(kWebDb);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->key, kWebDb);
    EXPECT_EQ(record->first_seen, at(990));
    EXPECT_EQ(record->last_seen, at(1010));
    EXPECT_EQ(record->count, 7u);
    EXPECT_EQ(record->nodes, (std::set<std::string>{"n1", "n2"}));
    EXPECT_EQ(record->workloads, (std::set<std::string>{"web-1", "web-2"}));
    EXPECT_EQ(record->origin, "learned");
}

TEST(Model, RecordKeepsTimesToTheSecondAndIgnoresEmptyLabels) {
    Model model;
    model.record(kWebDb, at(1000) + std::chrono::milliseconds(999), "", "");
    const FlowRecord* record = model.find(kWebDb);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->first_seen, at(1000));
    EXPECT_TRUE(record->nodes.empty());
    EXPECT_TRUE(record->workloads.empty());
}

TEST(Model, RecordSanitizesLabelsAndRefusesBadNames) {
    Model model;
    model.record(kWebDb, at(1), "node one", "web\n1");
    EXPECT_EQ(model.find(kWebDb)->nodes, (std::set<std::string>{"node_one"}));
    EXPECT_EQ(model.find(kWebDb)->workloads, (std::set<std::string>{"web_1"}));

    EXPECT_FALSE(model.record({"-bad", "db", 1, kProtocolTcp}, at(1), "n", "w"));
    EXPECT_FALSE(model.record({"web", std::string(201, 'x'), 1, kProtocolTcp}, at(1), "n", "w"));
    EXPECT_EQ(model.size(), 1u);
}

TEST(Model, PortlessProtocolsAlwaysHavePortZero) {
    Model model;
    EXPECT_TRUE(model.record({"web", "db", 8, kProtocolIcmp}, at(1), "n", "w"));
    EXPECT_TRUE(model.contains(kWebPing));
    EXPECT_TRUE(model.contains({"web", "db", 8, kProtocolIcmp}));
    EXPECT_FALSE(model.record({"web", "db", 9, kProtocolIcmp}, at(2), "n", "w"));
    EXPECT_EQ(model.size(), 1u);
    EXPECT_EQ(model.find(kWebPing)->count, 2u);
}

TEST(Model, KeepsTheFirstSixteenWorkloadsWhateverTheOrder) {
    std::vector<std::string> names;
    for (int i = 0; i < 40; ++i)
        names.push_back("web-" + std::to_string(100 + i));
    std::vector<std::string> expected(names.begin(), names.begin() + kMaxWorkloadsPerFlow);

    std::mt19937 random(7);
    for (int round = 0; round < 5; ++round) {
        std::shuffle(names.begin(), names.end(), random);
        Model model;
        for (const auto& name : names)
            model.record(kWebDb, at(1), "n1", name);
        const auto& kept = model.find(kWebDb)->workloads;
        ASSERT_EQ(kept.size(), kMaxWorkloadsPerFlow);
        EXPECT_TRUE(std::equal(kept.begin(), kept.end(), expected.begin()));
        EXPECT_EQ(model.find(kWebDb)->count, 40u);
    }
}

TEST(Model, CountSaturates) {
    Model model;
    model.record(kWebDb, at(1), "n", "w", std::numeric_limits<uint64_t>::max() - 1);
    model.record(kWebDb, at(1), "n", "w", 5);
    EXPECT_EQ(model.find(kWebDb)->count, std::numeric_limits<uint64_t>::max());
}

TEST(Model, AllowAddsAManualFlowOnce) {
    Model model;
    EXPECT_TRUE(model.allow(kWebDb, at(500)));
    const FlowRecord* record = model.find(kWebDb);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->origin, "manual");
    EXPECT_EQ(record->count, 0u);
    EXPECT_EQ(record->first_seen, at(500));
    EXPECT_EQ(record->last_seen, at(500));

    // Seen later: the record counts it, the origin stays.
    EXPECT_FALSE(model.record(kWebDb, at(600), "n1", "web-1"));
    EXPECT_EQ(model.find(kWebDb)->origin, "manual");
    EXPECT_EQ(model.find(kWebDb)->count, 1u);

    // Allowing a flow the model holds changes nothing.
    model.record(kApiDb, at(10), "n1", "api-1");
    auto before = *model.find(kApiDb);
    EXPECT_FALSE(model.allow(kApiDb, at(900)));
    EXPECT_EQ(*model.find(kApiDb), before);

    EXPECT_TRUE(model.allow(kWebApi, at(1), "imported"));
    EXPECT_EQ(model.find(kWebApi)->origin, "imported");
    EXPECT_FALSE(model.allow({"web", "x", 1, kProtocolTcp}, at(1), "guessed"));
    EXPECT_FALSE(model.allow({"we b", "x", 1, kProtocolTcp}, at(1)));
    EXPECT_EQ(model.size(), 3u);
}

TEST(Model, RemoveForgetsTheFlow) {
    Model model;
    model.record(kWebDb, at(1), "n", "w");
    EXPECT_TRUE(model.remove(kWebDb));
    EXPECT_FALSE(model.remove(kWebDb));
    EXPECT_FALSE(model.contains(kWebDb));
    EXPECT_EQ(model.find(kWebDb), nullptr);
    EXPECT_EQ(model.flows_of("web"), 0u);
    EXPECT_TRUE(model.empty());
}

TEST(Model, FlowsAreSortedAndCountedPerIdentity) {
    Model model;
    model.record(kWebDb, at(1), "n", "w");
    model.record(kWebApi, at(1), "n", "w");
    model.record(kApiDb, at(1), "n", "w");
    model.record(kWebPing, at(1), "n", "w");
    model.record({"db", "db", 3306, kProtocolTcp}, at(1), "n", "w"); // to itself: counted once

    auto flows = model.flows();
    ASSERT_EQ(flows.size(), 5u);
    EXPECT_TRUE(std::is_sorted(flows.begin(), flows.end(),
                               [](const auto& a, const auto& b) { return a.key < b.key; }));
    EXPECT_EQ(flows.front().key, kApiDb);

    EXPECT_EQ(model.flows_of("web"), 3u);
    EXPECT_EQ(model.flows_of("db"), 4u);
    EXPECT_EQ(model.flows_of("api"), 2u);
    EXPECT_EQ(model.flows_of("nobody"), 0u);
    EXPECT_EQ(model.flows_touching("db").size(), 4u);
    EXPECT_EQ(model.flows_touching("api").size(), 2u);
    EXPECT_TRUE(model.flows_touching("nobody").empty());

    model.remove({"db", "db", 3306, kProtocolTcp});
    model.remove(kWebDb);
    EXPECT_EQ(model.flows_of("db"), 2u);
    EXPECT_EQ(model.flows_of("web"), 2u);
}

Model sample(const std::string& node, int64_t base) {
    Model model;
    model.record(kWebDb, at(base), node, node + "-web-1", 10);
    model.record(kWebDb, at(base + 100), node, node + "-web-2", 2);
    model.record(kApiDb, at(base + 50), node, node + "-api-1", 3);
    return model;
}

TEST(Model, MergeUnitesAndKeepsTheWidestEvidence) {
    Model ours = sample("n1", 1000);
    ours.allow(kWebApi, at(1), "manual");
    Model theirs = sample("n2", 500);
    theirs.record(kWebPing, at(700), "n2", "n2-web-1", 4);
    theirs.record(kWebDb, at(2000), "n2", "", 30);

    EXPECT_EQ(ours.merge(theirs), 1u);
    ASSERT_EQ(ours.size(), 4u);
    const FlowRecord* web_db = ours.find(kWebDb);
    EXPECT_EQ(web_db->first_seen, at(500));
    EXPECT_EQ(web_db->last_seen, at(2000));
    EXPECT_EQ(web_db->count, 42u); // max(12, 42), not the sum
    EXPECT_EQ(web_db->nodes, (std::set<std::string>{"n1", "n2"}));
    EXPECT_EQ(web_db->workloads,
              (std::set<std::string>{"n1-web-1", "n1-web-2", "n2-web-1", "n2-web-2"}));
    EXPECT_EQ(web_db->origin, "learned"); // ours
    EXPECT_EQ(ours.find(kWebPing)->origin, "imported");
    EXPECT_EQ(ours.find(kWebPing)->count, 4u);
    EXPECT_EQ(ours.find(kWebApi)->origin, "manual");
    EXPECT_EQ(ours.flows_of("web"), 3u);
}

TEST(Model, ImportingTwiceIsImportingOnce) {
    Model theirs = sample("n2", 500);
    Model once = sample("n1", 1000);
    once.merge(theirs);
    Model twice = once;
    auto changes = twice.changes();
    EXPECT_EQ(twice.merge(theirs), 0u);
    EXPECT_EQ(twice, once);
    EXPECT_EQ(twice.changes(), changes); // nothing to save either

    // Our own export imported back changes nothing.
    Model copy = once;
    EXPECT_EQ(once.merge(copy), 0u);
    EXPECT_EQ(once, copy);
    EXPECT_EQ(once.merge(once), 0u);
}

TEST(Model, MergeOrderDoesNotMatterForTheContent) {
    Model a = sample("n1", 1000), b = sample("n2", 500), c = sample("n3", 800);
    for (int i = 0; i < 30; ++i)
        c.record(kWebDb, at(900), "n3", "w" + std::to_string(i));
    Model abc, cba;
    abc.merge(a, "");
    abc.merge(b, "");
    abc.merge(c, "");
    cba.merge(c, "");
    cba.merge(b, "");
    cba.merge(a, "");
    EXPECT_EQ(abc, cba);
    EXPECT_EQ(abc.find(kWebDb)->workloads.size(), kMaxWorkloadsPerFlow);
    EXPECT_EQ(abc.find(kWebDb)->origin, "learned"); // "" keeps theirs
}

TEST(Model, ChangesCountsEveryChange) {
    Model model;
    auto start = model.changes();
    model.record(kWebDb, at(1), "n", "w");
    EXPECT_GT(model.changes(), start);
    auto after_record = model.changes();
    EXPECT_FALSE(model.allow(kWebDb, at(1)));
    EXPECT_FALSE(model.remove(kApiDb));
    EXPECT_EQ(model.changes(), after_record);
    model.remove(kWebDb);
    EXPECT_GT(model.changes(), after_record);
}

} // namespace
} // namespace flowwall::policy
