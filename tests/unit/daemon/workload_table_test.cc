// SPDX-License-Identifier: Apache-2.0
// Who owns an address when the runtime's events arrive late, twice, or out of order.
#include "src/daemon/workload_table.h"

#include <gtest/gtest.h>

namespace flowwall::daemon {
namespace {

using identity::Workload;

IpAddress ip(const char* text) {
    return IpAddress::parse(text).value();
}

Workload workload(const std::string& id, const std::string& identity, const char* address,
                  int64_t started_ns) {
    Workload w;
    w.key = "docker/" + id;
    w.source = "docker";
    w.name = id;
    w.identity = identity;
    w.addresses = {ip(address)};
    w.started_ns = started_ns;
    return w;
}

std::string owner_of(const WorkloadTable& table, const char* address) {
    auto owners = table.address_owners();
    auto it = owners.find(ip(address));
    return it == owners.end() ? "" : it->second->identity;
}

TEST(WorkloadTable, RestartWithNewAddressKeepsIdentityAndDropsOldAddress) {
    WorkloadTable table;
    table.upsert(workload("a", "web", "198.18.1.2", 100));
    EXPECT_TRUE(table.upsert(workload("a", "web", "198.18.1.7", 200)));
    EXPECT_EQ(owner_of(table, "198.18.1.7"), "web");
    EXPECT_EQ(owner_of(table, "198.18.1.2"), "");
}

TEST(WorkloadTable, ReusedAddressGoesToTheNewImageEvenBeforeTheOldOneDies) {
    WorkloadTable table;
    table.upsert(workload("old", "mysql", "198.18.1.2", 100));
    // The new container's start arrives before the old one's die.
    table.upsert(workload("new", "redis", "198.18.1.2", 200));
    EXPECT_EQ(owner_of(table, "198.18.1.2"), "redis");
    table.remove("docker", "docker/old");
    EXPECT_EQ(owner_of(table, "198.18.1.2"), "redis");
}

TEST(WorkloadTable, LateStartOfTheOldOwnerDoesNotTakeTheAddressBack) {
    WorkloadTable table;
    table.upsert(workload("new", "redis", "198.18.1.2", 200));
    // A stale report of the previous owner (queued before it died) arrives afterwards.
    table.upsert(workload("old", "mysql", "198.18.1.2", 100));
    EXPECT_EQ(owner_of(table, "198.18.1.2"), "redis");
}

TEST(WorkloadTable, RemoveOfTheOldOwnerAfterReuseKeepsTheNewOne) {
    WorkloadTable table;
    table.upsert(workload("old", "mysql", "198.18.1.2", 100));
    table.remove("docker", "docker/old");
    table.upsert(workload("new", "redis", "198.18.1.2", 200));
    table.remove("docker", "docker/old"); // duplicate die
    EXPECT_EQ(owner_of(table, "198.18.1.2"), "redis");
}

TEST(WorkloadTable, ReplaceAllDropsOnlyThatSourcesMissingWorkloads) {
    WorkloadTable table;
    table.upsert(workload("a", "web", "198.18.1.2", 1));
    Workload file = workload("f", "legacy", "198.18.2.2", 1);
    file.key = "file/f";
    file.source = "endpoints-file";
    table.upsert(file);
    EXPECT_TRUE(table.replace_all("docker", {workload("b", "db", "198.18.1.3", 2)}));
    EXPECT_EQ(table.find("docker/a"), nullptr);
    EXPECT_NE(table.find("docker/b"), nullptr);
    EXPECT_NE(table.find("file/f"), nullptr);
    EXPECT_FALSE(table.replace_all("docker", {workload("b", "db", "198.18.1.3", 2)}))
        << "an identical listing is not a change";
}

TEST(WorkloadTable, RemoveIgnoresOtherSourcesAndUnknownKeys) {
    WorkloadTable table;
    table.upsert(workload("a", "web", "198.18.1.2", 1));
    EXPECT_FALSE(table.remove("endpoints-file", "docker/a"));
    EXPECT_FALSE(table.remove("docker", "docker/zzz"));
    EXPECT_TRUE(table.remove("docker", "docker/a"));
}

TEST(WorkloadTable, EqualStartTimesResolveTheSameWayWhateverTheOrder) {
    WorkloadTable first;
    first.upsert(workload("x", "one", "198.18.1.2", 5));
    first.upsert(workload("y", "two", "198.18.1.2", 5));
    WorkloadTable second;
    second.upsert(workload("y", "two", "198.18.1.2", 5));
    second.upsert(workload("x", "one", "198.18.1.2", 5));
    EXPECT_EQ(owner_of(first, "198.18.1.2"), owner_of(second, "198.18.1.2"));
}

} // namespace
} // namespace flowwall::daemon
