// SPDX-License-Identifier: Apache-2.0
// The cluster's model merged from every node's claims (shared_model.h): union of what the
// nodes saw, removals ordered by the store's revisions, the same answer whatever order the
// entries arrive in, and hostile entries refused without leaving a claim.
#include "src/cluster/shared_model.h"

#include "src/cluster/cluster_keys.h"
#include "src/cluster/model_values.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace flowwall::cluster {
namespace {

policy::TimePoint at(int64_t seconds) {
    return policy::TimePoint(std::chrono::seconds(seconds));
}

const policy::FlowKey kWebDb{"web", "db", 5432, 6};

StoreEntry claim(const std::string& node, int64_t revision, int64_t first, int64_t last,
                 uint64_t count, std::set<std::string> workloads,
                 const policy::FlowKey& flow = kWebDb, std::string origin = "learned") {
    policy::FlowRecord record;
    record.key = flow;
    record.first_seen = at(first);
    record.last_seen = at(last);
    record.count = count;
    record.workloads = std::move(workloads);
    record.origin = std::move(origin);
    return {flow_key(node, flow), encode_flow(record), revision, revision, 0};
}

StoreEntry removal(const std::string& node, int64_t revision,
                   const policy::FlowKey& flow = kWebDb) {
    return {flow_key(node, flow), encode_flow_removal(), revision, revision, 0};
}

TEST(SharedModel, TwoNodesLearningOneFlowMergeIntoTheUnion) {
    SharedModel model;
    ASSERT_TRUE(model.put(claim("n1", 10, 1000, 2000, 5, {"web-1"})));
    ASSERT_TRUE(model.put(claim("n2", 11, 900, 1500, 9, {"web-2"}, kWebDb, "manual")));
    auto merged = model.merged(kWebDb);
    ASSERT_TRUE(merged);
    EXPECT_EQ(merged->first_seen, at(900)) << "the earliest";
    EXPECT_EQ(merged->last_seen, at(2000)) << "the latest";
    EXPECT_EQ(merged->count, 9u) << "the largest: a claim is a snapshot";
    EXPECT_EQ(merged->nodes, (std::set<std::string>{"n1", "n2"}));
    EXPECT_EQ(merged->workloads, (std::set<std::string>{"web-1", "web-2"}));
    EXPECT_EQ(merged->origin, "learned") << "the oldest claim's";
}

TEST(SharedModel, TheMergeIsTheSameWhateverOrderTheEntriesArriveIn) {
    std::vector<StoreEntry> entries = {claim("n1", 10, 1000, 2000, 5, {"a"}),
                                       claim("n2", 12, 900, 1500, 9, {"b"}), removal("n3", 11),
                                       claim("n3", 13, 950, 3000, 1, {"c"}, {"web", "db", 80, 6})};
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.key < b.key; });
    std::optional<policy::FlowRecord> first;
    do {
        SharedModel model;
        for (const auto& entry : entries)
            ASSERT_TRUE(model.put(entry));
        auto merged = model.merged(kWebDb);
        ASSERT_TRUE(merged) << "n2's claim (12) is newer than n3's removal (11)";
        EXPECT_EQ(merged->nodes, std::set<std::string>{"n2"})
            << "only claims newer than the removal count";
        if (!first)
            first = merged;
        EXPECT_EQ(*merged, *first);
    } while (std::next_permutation(entries.begin(), entries.end(),
                                   [](const auto& a, const auto& b) { return a.key < b.key; }));
}

TEST(SharedModel, ARemovalNewerThanEveryClaimRemovesTheFlowUntilANodeLearnsItAgain) {
    SharedModel model;
    ASSERT_TRUE(model.put(claim("n1", 10, 1000, 2000, 5, {})));
    ASSERT_TRUE(model.put(claim("n2", 11, 1000, 2000, 5, {})));
    model.take_changes();
    ASSERT_TRUE(model.put(removal("n3", 12)));
    auto changes = model.take_changes();
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_FALSE(changes[0].record);
    EXPECT_TRUE(changes[0].removed);
    EXPECT_TRUE(model.removed(kWebDb));
    ASSERT_TRUE(model.put(claim("n1", 13, 1000, 4000, 6, {})));
    changes = model.take_changes();
    ASSERT_EQ(changes.size(), 1u);
    ASSERT_TRUE(changes[0].record);
    EXPECT_EQ(changes[0].record->nodes, std::set<std::string>{"n1"});
    EXPECT_TRUE(model.take_changes().empty()) << "changes are handed out once";
}

TEST(SharedModel, AFlowNobodyClaimsAnyMoreIsNotARemoval) {
    SharedModel model;
    ASSERT_TRUE(model.put(claim("n1", 10, 1000, 2000, 5, {})));
    model.take_changes();
    model.remove(flow_key("n1", kWebDb));
    auto changes = model.take_changes();
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_FALSE(changes[0].record);
    EXPECT_FALSE(changes[0].removed) << "deleted keys do not remove a flow from the nodes";
}

TEST(SharedModel, AnIdentityWasFirstSeenWhenAnyNodeSawItFirst) {
    SharedModel model;
    ASSERT_TRUE(model.put({identity_key("n1", "web"), encode_identity_seen(at(2000)), 3, 3, 0}));
    ASSERT_TRUE(model.put({identity_key("n2", "web"), encode_identity_seen(at(1000)), 4, 4, 0}));
    ASSERT_TRUE(model.put({identity_key("n3", "web"), encode_identity_seen(at(3000)), 5, 5, 0}));
    EXPECT_EQ(model.first_seen("web"), at(1000));
    auto changes = model.take_identity_changes();
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes["web"], at(1000));
}

TEST(SharedModel, HostileEntriesAreRefusedNamingTheKeyAndLeaveNoClaim) {
    SharedModel model;
    ASSERT_TRUE(model.put(claim("n1", 10, 1000, 2000, 5, {})));
    // n1's key now holds garbage: its earlier claim no longer says anything valid.
    auto bad = model.put({flow_key("n1", kWebDb), "{\"v\":1,\"removed\":\"yes\"}", 11, 11, 0});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("key \"flowwall/v1/flows/n1/web,db,5432,6\""),
              std::string::npos)
        << bad.error().message;
    EXPECT_FALSE(model.merged(kWebDb));
    EXPECT_FALSE(model.removed(kWebDb)) << "garbage is not a removal";
    for (const StoreEntry& entry :
         {StoreEntry{"flowwall/v1/flows/n1/web,db,99999,6", "{}", 1, 1, 0},
          StoreEntry{"flowwall/v2/flows/n1/web,db,80,6", "{}", 1, 1, 0},
          StoreEntry{identity_key("n1", "web"), std::string(100000, 'x'), 1, 1, 0},
          StoreEntry{identity_key("n1", "web"), "{\"v\":1,\"first_seen\":\"soon\"}", 1, 1, 0}}) {
        auto refused = model.put(entry);
        ASSERT_FALSE(refused) << entry.key;
        EXPECT_NE(refused.error().message.find("key \""), std::string::npos)
            << refused.error().message;
    }
    EXPECT_EQ(model.claims(), 0u);
    EXPECT_FALSE(model.first_seen("web"));
}

TEST(SharedModel, ARelistReplacesEverythingAndReportsWhatWentAway) {
    SharedModel model;
    ASSERT_TRUE(model.put(claim("n1", 10, 1000, 2000, 5, {})));
    model.take_changes();
    policy::FlowKey other{"web", "cache", 6379, 6};
    auto refused = model.replace_all(
        {claim("n2", 20, 1000, 2000, 5, {}, other), {"flowwall/v1/flows/n2/bad", "{}", 21, 21, 0}});
    EXPECT_EQ(refused.size(), 1u);
    auto changes = model.take_changes();
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(model.flows(), 1u);
    EXPECT_TRUE(model.merged(other));
    EXPECT_FALSE(model.merged(kWebDb));
}

} // namespace
} // namespace flowwall::cluster
