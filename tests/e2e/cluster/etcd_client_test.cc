// SPDX-License-Identifier: Apache-2.0
// The etcd client against a real etcd: keys, leases (bound keys go when the lease expires,
// stay while it is kept alive), watches resuming from a list's revision, a compacted watch
// reported as such (the caller relists), the store down and back, and TLS with client
// certificates (a client without a valid certificate can neither read nor write).
#include "src/cluster/cluster_keys.h"
#include "src/cluster/etcd_client.h"
#include "src/common/ip_address.h"
#include "tests/e2e/cluster/etcd_server.h"
#include "tests/support/netns_lab.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

namespace flowwall::cluster {
namespace {

using testing::EtcdServer;
using testing::TestCertificates;

void require_etcd() {
    if (::system("command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1") != 0) {
        if (std::getenv("CI") != nullptr)
            FAIL() << "etcd and etcdctl are missing: scripts/install-deps installs etcd-server "
                      "and etcd-client";
        GTEST_SKIP() << "etcd is not installed (etcd-server, etcd-client)";
    }
}

std::unique_ptr<EtcdClient> client_for(const EtcdServer& server, EtcdOptions options = {}) {
    options.endpoints = {server.endpoint()};
    options.call_timeout = std::chrono::seconds(2);
    return EtcdClient::connect(options).value_or_throw();
}

class EtcdClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        require_etcd();
        if (IsSkipped() || HasFatalFailure())
            return;
        server_ = std::make_unique<EtcdServer>();
        server_->start();
        client_ = client_for(*server_);
    }
    std::unique_ptr<EtcdServer> server_;
    std::unique_ptr<EtcdClient> client_;
};

TEST_F(EtcdClientTest, PutRangeAndDeleteUnderAPrefix) {
    ASSERT_TRUE(client_->put("flowwall/v1/a/1", "one"));
    ASSERT_TRUE(client_->put("flowwall/v1/a/2", "two"));
    ASSERT_TRUE(client_->put("flowwall/v1/b/1", "other"));
    auto listed = client_->range_prefix("flowwall/v1/a/");
    ASSERT_TRUE(listed) << listed.error().message;
    ASSERT_EQ(listed.value().entries.size(), 2u);
    EXPECT_EQ(listed.value().entries[0].key, "flowwall/v1/a/1");
    EXPECT_EQ(listed.value().entries[0].value, "one");
    EXPECT_GT(listed.value().entries[0].create_revision, 0);
    EXPECT_GE(listed.value().revision, listed.value().entries[1].mod_revision);
    auto deleted = client_->delete_prefix("flowwall/v1/a/");
    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted.value(), 2);
    EXPECT_EQ(client_->range_prefix("flowwall/v1/").value().entries.size(), 1u);
}

TEST_F(EtcdClientTest, KeysBoundToALeaseLiveWhileItIsKeptAliveAndGoWhenItExpires) {
    auto lease = client_->grant_lease(2);
    ASSERT_TRUE(lease) << lease.error().message;
    ASSERT_TRUE(client_->put("flowwall/v1/leased", "x", lease.value()));
    auto keeper = client_->keep_alive(lease.value()).value_or_throw();
    for (int i = 0; i < 6; ++i) { // 3 s: longer than the TTL
        auto ttl = keeper->refresh();
        ASSERT_TRUE(ttl) << ttl.error().message;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    EXPECT_EQ(client_->get("flowwall/v1/leased").value().entries.size(), 1u);
    keeper.reset();
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) { // bounded: 5 s
        gone = client_->get("flowwall/v1/leased").value().entries.empty();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(gone) << "the key outlived its lease";
    auto refreshed = client_->keep_alive(lease.value()).value_or_throw()->refresh();
    ASSERT_FALSE(refreshed);
    EXPECT_EQ(refreshed.error().errnum, ENOENT) << refreshed.error().message;
}

TEST_F(EtcdClientTest, AWatchFromTheListsRevisionMissesNothing) {
    ASSERT_TRUE(client_->put("flowwall/v1/w/1", "before"));
    auto listed = client_->range_prefix("flowwall/v1/w/").value_or_throw();
    // Written between the list and the watch: the watch must still deliver it.
    ASSERT_TRUE(client_->put("flowwall/v1/w/2", "between"));
    auto watch = client_->watch_prefix("flowwall/v1/w/", listed.revision + 1).value_or_throw();
    ASSERT_TRUE(client_->delete_key("flowwall/v1/w/1"));
    std::vector<WatchEvent> events;
    while (events.size() < 2) {
        auto batch = watch->next();
        ASSERT_TRUE(batch) << batch.error().message;
        ASSERT_FALSE(batch.value().canceled) << batch.value().reason;
        for (auto& event : batch.value().events)
            events.push_back(event);
    }
    EXPECT_TRUE(events[0].is_put);
    EXPECT_EQ(events[0].entry.key, "flowwall/v1/w/2");
    EXPECT_EQ(events[0].entry.value, "between");
    EXPECT_FALSE(events[1].is_put);
    EXPECT_EQ(events[1].entry.key, "flowwall/v1/w/1");
}

TEST_F(EtcdClientTest, AWatchFromACompactedRevisionSaysSoAndCancelEndsABlockedRead) {
    auto first = client_->put("flowwall/v1/c/1", "a").value_or_throw();
    auto last = client_->put("flowwall/v1/c/1", "b").value_or_throw();
    ASSERT_TRUE(client_->put("flowwall/v1/c/1", "c"));
    ASSERT_TRUE(client_->compact(last));
    auto watch = client_->watch_prefix("flowwall/v1/c/", first).value_or_throw();
    auto batch = watch->next();
    ASSERT_TRUE(batch) << batch.error().message;
    EXPECT_TRUE(batch.value().compacted);

    auto idle = client_->watch_prefix("flowwall/v1/idle/", 0).value_or_throw();
    std::jthread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        idle->cancel();
    });
    EXPECT_FALSE(idle->next()) << "a cancelled watch ends the blocked read";
}

TEST_F(EtcdClientTest, CallsFailWithAClearErrorWhileTheStoreIsDownAndWorkWhenItIsBack) {
    ASSERT_TRUE(client_->put("flowwall/v1/k", "v"));
    // Streams open across the outage, as the cluster agent has them.
    auto watch = client_->watch_prefix("flowwall/v1/", 0).value_or_throw();
    auto lease = client_->grant_lease(30).value_or_throw();
    auto keeper = client_->keep_alive(lease).value_or_throw();
    ASSERT_TRUE(keeper->refresh());
    server_->stop();
    EXPECT_FALSE(watch->next()) << "the watch ends with the store";
    EXPECT_FALSE(keeper->refresh());
    watch.reset();
    keeper.reset();
    auto failed = client_->get("flowwall/v1/k");
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().message.find("is etcd running and reachable"), std::string::npos)
        << failed.error().message;
    server_->start();
    // A new channel connects at once; the cluster agent replaces its channel after a failure
    // (cluster_agent.h says why).
    auto fresh = client_for(*server_);
    auto got = fresh->get("flowwall/v1/k");
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(got.value().entries.size(), 1u) << "what was written before the outage is there";
}

TEST(EtcdStoreUrl, ParsesEndpointsAndRefusesWhatIsNot) {
    EXPECT_EQ(parse_store_url("etcd://198.18.0.1:2379").value(),
              (std::vector<std::string>{"198.18.0.1:2379"}));
    EXPECT_EQ(parse_store_url("etcd://198.18.0.1:2379,198.18.0.2:2379").value().size(), 2u);
    for (const char* bad : {"http://198.18.0.1:2379", "etcd://", "etcd://host", "etcd://:2379",
                            "etcd://h:23x9", "etcd://h:2379,"}) {
        auto parsed = parse_store_url(bad);
        EXPECT_FALSE(parsed) << bad;
    }
}

TEST(EtcdClientTls, ClientCertificatesAreRequiredAndChecked) {
    require_etcd();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure())
        return;
    TestCertificates certs;
    certs.issue_server("127.0.0.1");
    certs.issue_client("root");
    certs.issue_client("node-1");
    certs.issue_foreign_client("intruder");
    EtcdServer server({.listen_ip = "127.0.0.1", .tls = &certs});
    server.start();

    EtcdOptions good{
        .ca_file = certs.ca(), .cert_file = certs.cert("node-1"), .key_file = certs.key("node-1")};
    auto client = client_for(server, good);
    ASSERT_TRUE(client->put("flowwall/v1/tls", "yes"));
    EXPECT_EQ(client->get("flowwall/v1/tls").value().entries.size(), 1u);

    EtcdOptions foreign{.ca_file = certs.ca(),
                        .cert_file = certs.cert("intruder"),
                        .key_file = certs.key("intruder")};
    auto intruder = client_for(server, foreign);
    EXPECT_FALSE(intruder->get("flowwall/v1/tls")) << "a certificate of another CA reads nothing";
    EXPECT_FALSE(intruder->put("flowwall/v1/tls", "no")) << "nor writes";

    EtcdOptions plaintext;
    auto plain = client_for(server, plaintext);
    EXPECT_FALSE(plain->get("flowwall/v1/tls")) << "no TLS, no access";

    EtcdOptions half{.ca_file = certs.ca()};
    half.endpoints = {server.endpoint()};
    auto refused = EtcdClient::connect(half);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("needs --etcd-cert and --etcd-key"), std::string::npos);
    EXPECT_EQ(client->get("flowwall/v1/tls").value().entries.at(0).value, "yes");
}

// Check 9 of the issue: with etcd's auth on (a user and role per node, as deploy/README.md
// sets it up), a node's credentials write its own keys and cannot touch another node's.
TEST(EtcdClientTls, WithAuthOnANodeWritesOnlyItsOwnKeys) {
    require_etcd();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFatalFailure())
        return;
    TestCertificates certs;
    certs.issue_server("127.0.0.1");
    certs.issue_client("root");
    certs.issue_client("node-1");
    certs.issue_client("node-2");
    EtcdServer server({.listen_ip = "127.0.0.1", .tls = &certs});
    server.start();
    auto etcdctl = [&](const std::vector<std::string>& args) {
        auto result = testing::Lab::exec("", server.etcdctl(args), std::chrono::seconds(10));
        ASSERT_TRUE(result.ok()) << result.out << result.err;
    };
    etcdctl({"user", "add", "root", "--no-password"});
    etcdctl({"user", "grant-role", "root", "root"});
    for (const std::string node : {"node-1", "node-2"}) {
        const std::string role = "flowwall-" + node;
        etcdctl({"role", "add", role});
        etcdctl({"role", "grant-permission", role, "read", "--prefix", "flowwall/v1/"});
        etcdctl({"role", "grant-permission", role, "readwrite", node_key(node)});
        etcdctl({"role", "grant-permission", role, "readwrite", "--prefix",
                 node_endpoints_prefix(node)});
        etcdctl(
            {"role", "grant-permission", role, "readwrite", "--prefix", node_flows_prefix(node)});
        etcdctl({"role", "grant-permission", role, "readwrite", "--prefix",
                 identities_prefix() + node + "/"});
        etcdctl({"user", "add", node, "--no-password"});
        etcdctl({"user", "grant-role", node, role});
    }
    etcdctl({"auth", "enable"});

    auto as = [&](const std::string& node) {
        return client_for(
            server,
            {.ca_file = certs.ca(), .cert_file = certs.cert(node), .key_file = certs.key(node)});
    };
    auto node1 = as("node-1");
    auto node2 = as("node-2");
    const auto address = IpAddress::parse("198.18.1.2").value();
    auto lease = node1->grant_lease(5);
    ASSERT_TRUE(lease) << lease.error().message;
    EXPECT_TRUE(node1->put(endpoint_key("node-1", address), "{}", lease.value()));
    EXPECT_TRUE(node1->put(node_key("node-1"), "{}", lease.value()));
    EXPECT_TRUE(node2->range_prefix("flowwall/v1/")) << "every node reads the whole prefix";

    auto forged = node2->put(endpoint_key("node-1", address), "{}");
    ASSERT_FALSE(forged) << "node-2 must not publish an address under node-1";
    EXPECT_EQ(forged.error().errnum, EACCES) << forged.error().message;
    EXPECT_NE(forged.error().message.find("refused this node's credentials"), std::string::npos);
    EXPECT_FALSE(node2->put(node_key("node-1"), "{}")) << "nor change node-1's record";
    EXPECT_FALSE(node2->delete_key(node_key("node-1"))) << "nor delete it";
    EXPECT_FALSE(node2->put("flowwall/v1/nodes/node-3", "{}")) << "nor invent another node";
    EXPECT_TRUE(node2->put(node_key("node-2"), "{}")) << "its own record it writes";
    EXPECT_EQ(node1->get(node_key("node-1")).value().entries.size(), 1u);

    // The model's keys: a node publishes its flows (in one transaction) and sightings under
    // its own name only; a transaction with one key of another node's is refused whole.
    const policy::FlowKey flow{"web", "db", 5432, 6};
    EXPECT_TRUE(
        node2->put_all({{flow_key("node-2", flow), "{}"}, {identity_key("node-2", "web"), "{}"}}));
    auto forged_flow = node2->put_all({{flow_key("node-2", flow), "{}"},
                                       {flow_key("node-1", flow), "{\"v\":1,\"removed\":true}"}});
    ASSERT_FALSE(forged_flow) << "node-2 must not remove a flow in node-1's name";
    EXPECT_EQ(forged_flow.error().errnum, EACCES) << forged_flow.error().message;
    EXPECT_FALSE(node2->put(identity_key("node-1", "web"), "{}"));
    EXPECT_TRUE(node1->get(flow_key("node-1", flow)).value().entries.empty());
}

} // namespace
} // namespace flowwall::cluster
