// SPDX-License-Identifier: Apache-2.0
// The merge rules for other nodes' addresses: the same winner on every node whatever order
// the keys arrive in; a local workload's address never goes to a remote claim; this node's
// own keys are skipped; a refused entry never becomes (or stays) a claim; a dead node's
// addresses go at once.
#include "src/cluster/remote_endpoints.h"

#include "src/cluster/cluster_keys.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace flowwall::cluster {
namespace {

IpAddress address(const char* text) {
    return IpAddress::parse(text).value();
}

StoreEntry claim(const std::string& node, const char* addr, const std::string& identity,
                 int64_t revision) {
    return StoreEntry{endpoint_key(node, address(addr)),
                      encode_endpoint({identity, identity + "-1"}), revision, revision, 0};
}

TEST(RemoteEndpoints, ClaimsOfOtherNodesWinTheirAddresses) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n2", "198.18.2.2", "db", 10)));
    ASSERT_TRUE(remote.put(claim("n3", "198.18.3.2", "web", 11)));
    auto resolution = remote.resolve({});
    ASSERT_EQ(resolution.winners.size(), 2u);
    EXPECT_EQ(resolution.winners.at(address("198.18.2.2")).record.identity, "db");
    EXPECT_EQ(resolution.winners.at(address("198.18.2.2")).node, "n2");
    EXPECT_TRUE(resolution.conflicts.empty());
    EXPECT_EQ(remote.nodes(), (std::set<std::string>{"n2", "n3"}));
}

TEST(RemoteEndpoints, OwnKeysAndNodeRecordsAreNotClaims) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n1", "198.18.1.2", "web", 5)));
    ASSERT_TRUE(remote.put({node_key("n2"), "{}", 6, 6, 0}));
    EXPECT_EQ(remote.size(), 0u);
}

TEST(RemoteEndpoints, TheEarliestClaimWinsWhateverOrderTheyArrive) {
    std::vector<StoreEntry> claims = {claim("n3", "198.18.9.9", "cache", 30),
                                      claim("n2", "198.18.9.9", "db", 20),
                                      claim("n4", "198.18.9.9", "web", 40)};
    std::sort(claims.begin(), claims.end(),
              [](const StoreEntry& a, const StoreEntry& b) { return a.key < b.key; });
    do {
        RemoteEndpoints remote("n1");
        for (const auto& entry : claims)
            ASSERT_TRUE(remote.put(entry));
        auto resolution = remote.resolve({});
        EXPECT_EQ(resolution.winners.at(address("198.18.9.9")).node, "n2");
        ASSERT_EQ(resolution.conflicts.size(), 1u);
        EXPECT_EQ(resolution.conflicts[0].winner, "n2");
        EXPECT_EQ(resolution.conflicts[0].losers, (std::vector<std::string>{"n3", "n4"}));
    } while (std::next_permutation(
        claims.begin(), claims.end(),
        [](const StoreEntry& a, const StoreEntry& b) { return a.key < b.key; }));
}

TEST(RemoteEndpoints, ALocalWorkloadKeepsItsAddress) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n2", "198.18.1.2", "attacker", 1)));
    auto resolution = remote.resolve({address("198.18.1.2")});
    EXPECT_TRUE(resolution.winners.empty());
    ASSERT_EQ(resolution.conflicts.size(), 1u);
    EXPECT_EQ(resolution.conflicts[0].winner, "local");
    EXPECT_EQ(resolution.conflicts[0].losers, (std::vector<std::string>{"n2"}));
}

TEST(RemoteEndpoints, AWithdrawnClaimHandsTheAddressToTheNext) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n2", "198.18.9.9", "db", 20)));
    ASSERT_TRUE(remote.put(claim("n3", "198.18.9.9", "cache", 30)));
    remote.remove(endpoint_key("n2", address("198.18.9.9")));
    EXPECT_EQ(remote.resolve({}).winners.at(address("198.18.9.9")).record.identity, "cache");
}

TEST(RemoteEndpoints, ADeadNodesAddressesGoAtOnce) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n2", "198.18.2.2", "db", 10)));
    ASSERT_TRUE(remote.put(claim("n2", "198.18.2.3", "db", 11)));
    ASSERT_TRUE(remote.put(claim("n3", "198.18.3.2", "web", 12)));
    remote.drop_node("n2");
    auto winners = remote.resolve({}).winners;
    EXPECT_EQ(winners.size(), 1u);
    EXPECT_TRUE(winners.contains(address("198.18.3.2")));
}

TEST(RemoteEndpoints, RefusedEntriesNeverBecomeClaimsAndReplaceOldOnes) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n2", "198.18.2.2", "db", 10)));
    // The same key rewritten with garbage: the old claim does not linger.
    auto bad = remote.put({endpoint_key("n2", address("198.18.2.2")), "{not json", 10, 12, 0});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("key \"flowwall/v1/endpoints/n2/198.18.2.2\""),
              std::string::npos)
        << bad.error().message;
    EXPECT_EQ(remote.size(), 0u);

    const StoreEntry refused[] = {
        {endpoint_key("n2", address("127.0.0.1")), encode_endpoint({"db", ""}), 5, 5, 0},
        {endpoint_key("n2", address("224.0.0.5")), encode_endpoint({"db", ""}), 5, 5, 0},
        {endpoint_key("n2", address("198.18.2.9")), encode_endpoint({"world", ""}), 5, 5, 0},
        {endpoint_key("n2", address("198.18.2.9")), encode_endpoint({"db", ""}), 0, 0, 0},
        {"flowwall/v1/endpoints/n2/198.018.2.9", encode_endpoint({"db", ""}), 5, 5, 0},
        {"flowwall/v9/endpoints/n2/198.18.2.9", encode_endpoint({"db", ""}), 5, 5, 0},
    };
    for (const auto& entry : refused) {
        auto status = remote.put(entry);
        EXPECT_FALSE(status) << entry.key << " " << entry.value;
        if (!status) {
            EXPECT_NE(status.error().message.find(entry.key), std::string::npos)
                << status.error().message;
        }
    }
    EXPECT_EQ(remote.size(), 0u);
    EXPECT_TRUE(remote.resolve({}).winners.empty());
}

TEST(RemoteEndpoints, ARelistReplacesEverythingAndReportsEachRefusal) {
    RemoteEndpoints remote("n1");
    ASSERT_TRUE(remote.put(claim("n2", "198.18.2.2", "db", 10)));
    auto errors = remote.replace_all({claim("n3", "198.18.3.2", "web", 12),
                                      {endpoint_key("n3", address("198.18.3.3")), "[]", 13, 13, 0},
                                      {"flowwall/v1/endpoints/n3", "", 14, 14, 0}});
    EXPECT_EQ(errors.size(), 2u);
    auto winners = remote.resolve({}).winners;
    ASSERT_EQ(winners.size(), 1u);
    EXPECT_TRUE(winners.contains(address("198.18.3.2")));
}

} // namespace
} // namespace flowwall::cluster
