// SPDX-License-Identifier: Apache-2.0
// A cluster on one machine: a real etcd and three real flowwalld "nodes", each with its own
// pin dir, state dir, control socket, web port and endpoints file, each guarding its own
// workloads of one namespace lab (the lab's hub routes between every workload, as a cluster's
// network does between nodes). A workload's packets are judged by its own node's programs
// only, so a cross-node connection is judged on the sending node (egress) and the receiving
// node (ingress), each knowing the other side only through the store.
//
// Deviation from the lab: the three daemons share the test's network namespace (their
// own host addresses are the same `host`), not one namespace each; everything else that is
// per node (pins, links, filters, socket, state, web port, node name) is separate.
#include "src/cluster/cluster_keys.h"
#include "tests/e2e/cluster/etcd_server.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <deque>
#include <fstream>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kLeaseTtl = 3s;

struct Node {
    std::string name;
    std::filesystem::path endpoints_file;
    std::unique_ptr<DaemonProcess> daemon;
};

class MultiNodeTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs flowwalld nodes, which load BPF programs");
        if (::system("command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null") != 0) {
            if (std::getenv("CI") != nullptr)
                FAIL() << "etcd is missing: scripts/install-deps installs etcd-server, etcd-client";
            GTEST_SKIP() << "etcd is not installed (etcd-server, etcd-client)";
        }
        etcd_ = std::make_unique<EtcdServer>();
        etcd_->start();
        lab_ = std::make_unique<Lab>();
        web_ = &lab_->add_workload("web");
        db_ = &lab_->add_workload("db");
        cache_ = &lab_->add_workload("cache");
        spare_ = &lab_->add_workload("spare");
    }
    void TearDown() override {
        for (auto& node : nodes_) {
            node.daemon.reset();
            std::error_code ignored;
            std::filesystem::remove(node.endpoints_file, ignored);
        }
    }

    Node& add_node(const std::string& name, const json& endpoints,
                   std::vector<std::string> extra = {}) {
        Node node;
        node.name = name;
        node.endpoints_file = std::filesystem::temp_directory_path() /
                              ("fw-endpoints-" + lab_->prefix() + "-" + name + ".json");
        write_endpoints(node.endpoints_file, endpoints);
        std::vector<std::string> args = {"--docker",
                                         "false",
                                         "--endpoints-file",
                                         node.endpoints_file.string(),
                                         "--node-name",
                                         name,
                                         "--cluster-store",
                                         etcd_->store_url(),
                                         "--cluster-lease-ttl",
                                         std::to_string(kLeaseTtl.count()) + "s",
                                         "--learning-period",
                                         "8s",
                                         "--after-learning",
                                         "block"};
        args.insert(args.end(), extra.begin(), extra.end());
        node.daemon = std::make_unique<DaemonProcess>(args);
        node.daemon->start();
        nodes_.push_back(std::move(node));
        return nodes_.back();
    }

    // The node's `endpoints` entry of a remote workload, or null.
    static std::optional<json> remote_entry(const DaemonProcess& daemon, const std::string& name) {
        const json endpoints = daemon.cli_json({"endpoints"});
        for (const auto& entry : endpoints)
            if (entry.value("remote", false) && entry.at("name") == name)
                return entry;
        return std::nullopt;
    }

    static bool learned(const DaemonProcess& daemon, const std::string& src, const std::string& dst,
                        uint16_t port) {
        const json model = daemon.cli_json({"model", "show"});
        for (const auto& flow : model.at("flows"))
            if (flow.at("src").get<std::string>() == src &&
                flow.at("dst").get<std::string>() == dst && flow.at("port").get<int>() == port &&
                flow.at("protocol").get<std::string>() == "tcp")
                return true;
        return false;
    }

    // The node guards its local workload `name` (its interfaces are attached).
    static bool guarded(const DaemonProcess& daemon, const std::string& name) {
        const json endpoints = daemon.cli_json({"endpoints"});
        for (const auto& entry : endpoints)
            if (!entry.value("remote", false) && entry.at("name") == name)
                for (const auto& interface : entry.at("interfaces"))
                    if (interface.value("attached", false))
                        return true;
        return false;
    }

    static json cluster_model_status(const DaemonProcess& daemon) {
        return daemon.cli_json({"status"}).at("cluster").at("model");
    }

    static bool has_world_flow(const DaemonProcess& daemon) {
        const json model = daemon.cli_json({"model", "show"});
        for (const auto& flow : model.at("flows"))
            if (flow.at("src") == "world" || flow.at("dst") == "world")
                return true;
        return false;
    }

    static std::string mode_of(const DaemonProcess& daemon, const std::string& identity) {
        const json identities = daemon.cli_json({"identities"});
        for (const auto& entry : identities)
            if (entry.at("name") == identity)
                return entry.value("mode", json()).is_string() ? entry.at("mode").get<std::string>()
                                                               : "";
        return "";
    }

    std::unique_ptr<EtcdServer> etcd_;
    std::unique_ptr<Lab> lab_;
    const Workload* web_ = nullptr;
    const Workload* db_ = nullptr;
    const Workload* cache_ = nullptr;
    const Workload* spare_ = nullptr;
    std::deque<Node> nodes_; // add_node() hands out references: they must stay valid
};

TEST_F(MultiNodeTest, CrossNodeFlowsAreLearnedByIdentityAndALateralMoveIsBlocked) {
    auto& n1 = add_node("node-1", json::array({endpoint_entry("web-1", "web", *web_)}));
    auto& n2 = add_node("node-2", json::array({endpoint_entry("db-2", "db", *db_)}));
    auto& n3 = add_node("node-3", json::array({endpoint_entry("cache-3", "cache", *cache_)}));

    // Each node learns the others' workloads, with their node, through the store.
    ASSERT_TRUE(eventually([&] { return remote_entry(*n1.daemon, "db-2").has_value(); }, 10s))
        << n1.daemon->log();
    ASSERT_TRUE(eventually([&] { return remote_entry(*n2.daemon, "web-1").has_value(); }, 10s));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n3.daemon, "db-2").has_value(); }, 10s));
    EXPECT_EQ(remote_entry(*n1.daemon, "db-2")->at("node"), "node-2");
    EXPECT_EQ(remote_entry(*n1.daemon, "db-2")->at("identity"), "db");
    EXPECT_EQ(pinned_ipcache_identity(n1.daemon->pin_dir(), db_->v4.str()),
              identity_id(*n1.daemon, "db"))
        << "node-1's datapath resolves db's address to db";
    EXPECT_EQ(pinned_ipcache_identity(n2.daemon->pin_dir(), web_->v4.str()),
              identity_id(*n2.daemon, "web"));
    json nodes = n1.daemon->cli_json({"nodes"});
    EXPECT_EQ(nodes.at("nodes").size(), 3u) << nodes.dump();
    EXPECT_TRUE(nodes.at("store_reachable"));

    // 1. Learning: web (node-1) -> db (node-2) is learned on both ends by identity.
    TcpServer db_server(db_->netns_path, db_->v4);
    ASSERT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok());
    ASSERT_TRUE(eventually([&] { return learned(*n1.daemon, "web", "db", db_server.port()); }))
        << "port " << db_server.port() << ": " << n1.daemon->cli_json({"model", "show"}).dump();
    ASSERT_TRUE(eventually([&] { return learned(*n2.daemon, "web", "db", db_server.port()); }))
        << n2.daemon->cli({"model", "show"}).out;
    EXPECT_FALSE(has_world_flow(*n1.daemon)) << n1.daemon->cli({"model", "show"}).out;
    EXPECT_FALSE(has_world_flow(*n2.daemon)) << n2.daemon->cli({"model", "show"}).out;

    // 2. After learning: the learned flow passes, a lateral move from cache (node-3) to db is
    // blocked and audited on node-3, which sees it first.
    ASSERT_TRUE(eventually([&] { return mode_of(*n3.daemon, "cache") == "block"; }, 20s));
    ASSERT_TRUE(eventually([&] { return mode_of(*n1.daemon, "web") == "block"; }, 20s));
    ASSERT_TRUE(eventually([&] { return mode_of(*n2.daemon, "db") == "block"; }, 20s));
    EXPECT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok());
    EXPECT_FALSE(tcp_connect(cache_->netns_path, db_->v4, db_server.port()).connected)
        << "cache never talked to db: blocked";
    ASSERT_TRUE(eventually([&] {
        std::ifstream audit(n3.daemon->dir() / "audit.jsonl");
        std::string line;
        while (std::getline(audit, line)) {
            auto record = json::parse(line, nullptr, false);
            if (!record.is_discarded() && record.value("action", "") == "block" &&
                record.value("src", "") == "cache" && record.value("dst", "") == "db" &&
                record.value("src_workload", "") == "cache-3" &&
                record.value("dst_workload", "") == "db-2@node-2")
                return true;
        }
        return false;
    })) << "node-3 audits the blocked lateral move with both identities and db's node";
}

TEST_F(MultiNodeTest, ADeadNodesAddressesLeaveWithinTheLeaseAndAReusedAddressGetsItsNewIdentity) {
    auto& n1 = add_node("node-1", json::array({endpoint_entry("web-1", "web", *web_)}));
    auto& n2 = add_node("node-2", json::array({endpoint_entry("db-2", "db", *db_)}));
    auto& n3 = add_node("node-3", json::array({endpoint_entry("cache-3", "cache", *cache_)}));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n1.daemon, "db-2").has_value(); }, 10s));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n3.daemon, "db-2").has_value(); }, 10s));

    n2.daemon->stop(SIGKILL);
    auto killed = std::chrono::steady_clock::now();
    auto gone_from = [&](const Node& node) {
        return !remote_entry(*node.daemon, "db-2") &&
               !pinned_ipcache_identity(node.daemon->pin_dir(), db_->v4.str());
    };
    ASSERT_TRUE(eventually([&] { return gone_from(n1) && gone_from(n3); }, kLeaseTtl + 2s))
        << "node-2's addresses must leave nodes 1 and 3 within the lease TTL + 2 s";
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - killed);
    std::cout << "node-2's addresses left nodes 1 and 3 " << took.count() << " ms after SIGKILL "
              << "(lease TTL " << kLeaseTtl.count() << " s)\n";

    // db's old address, reused on node-3 by another identity: every node gives it that one.
    json reused = endpoint_entry("queue-3", "queue", *spare_);
    reused["addresses"] = {db_->v4.str()};
    write_endpoints(n3.endpoints_file,
                    json::array({endpoint_entry("cache-3", "cache", *cache_), reused}));
    ASSERT_TRUE(eventually(
        [&] {
            auto entry = remote_entry(*n1.daemon, "queue-3");
            return entry && entry->at("identity") == "queue" &&
                   pinned_ipcache_identity(n1.daemon->pin_dir(), db_->v4.str()) ==
                       identity_id(*n1.daemon, "queue");
        },
        10s))
        << n1.daemon->cli({"endpoints"}).out;
}

TEST_F(MultiNodeTest, WithTheStoreDownEveryNodeKeepsEnforcingAndSaysSo) {
    auto& n1 = add_node("node-1", json::array({endpoint_entry("web-1", "web", *web_)}),
                        {"--learning-period", "3s"});
    auto& n2 = add_node("node-2", json::array({endpoint_entry("db-2", "db", *db_)}),
                        {"--learning-period", "3s"});
    ASSERT_TRUE(eventually([&] { return remote_entry(*n1.daemon, "db-2").has_value(); }, 10s));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n2.daemon, "web-1").has_value(); }, 10s));
    TcpServer db_server(db_->netns_path, db_->v4);
    ASSERT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok());
    ASSERT_TRUE(eventually([&] { return mode_of(*n2.daemon, "db") == "block"; }, 20s));
    ASSERT_TRUE(eventually([&] { return mode_of(*n1.daemon, "web") == "block"; }, 20s));
    ASSERT_TRUE(eventually([&] { return learned(*n2.daemon, "web", "db", db_server.port()); }));
    TcpServer other_port(db_->netns_path, db_->v4);

    etcd_->stop();
    ASSERT_TRUE(eventually(
        [&] {
            return n1.daemon->cli_json({"status"}).at("cluster").at("store_reachable") == false;
        },
        15s));
    auto [health_status, health] = n1.daemon->web_get("/healthz");
    EXPECT_NE(health.find("degraded: cluster store unreachable"), std::string::npos) << health;
    auto [metrics_status, metrics] = n1.daemon->web_get("/metrics");
    EXPECT_NE(metrics.find("\nflowwall_cluster_store_up 0\n"), std::string::npos);
    // Longer than the lease: what each node holds must not expire with the store away.
    std::this_thread::sleep_for(kLeaseTtl + 1s);
    int passed = 0, denied = 0;
    for (int i = 0; i < 10; ++i) { // bounded: 10 allowed, 3 denied connections
        passed += tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok();
        if (i < 3)
            denied += !tcp_connect(web_->netns_path, db_->v4, other_port.port()).connected;
    }
    EXPECT_EQ(passed, 10) << "the learned cross-node flow passes with the store down";
    EXPECT_EQ(denied, 3) << "an unlearned one stays denied";
    EXPECT_EQ(pinned_ipcache_identity(n2.daemon->pin_dir(), web_->v4.str()),
              identity_id(*n2.daemon, "web"))
        << "no map is flushed because the store is gone";

    // A flow learned while the store is away: web learns again on node-1, which learns
    // web -> db on the other port as the packet leaves; node-2 (db and web both blocked
    // there) drops it until the flow reaches it through the store.
    ASSERT_TRUE(n1.daemon->cli({"learn", "--identity", "web", "--for", "60s"}).ok());
    EXPECT_FALSE(tcp_connect(web_->netns_path, db_->v4, other_port.port()).connected);
    ASSERT_TRUE(eventually([&] { return learned(*n1.daemon, "web", "db", other_port.port()); }));
    ASSERT_TRUE(eventually([&] { return cluster_model_status(*n1.daemon).at("queued") >= 1; }))
        << cluster_model_status(*n1.daemon).dump();
    EXPECT_FALSE(learned(*n2.daemon, "web", "db", other_port.port()));
    auto [queued_status, queued_health] = n1.daemon->web_get("/healthz");
    EXPECT_NE(queued_health.find("model changes queued"), std::string::npos) << queued_health;
    EXPECT_NE(n1.daemon->web_get("/metrics").second.find("\nflowwall_cluster_model_queue "),
              std::string::npos);
    // A restart with the store still away loses nothing: the queue is in the state dir.
    n1.daemon->stop();
    ASSERT_TRUE(std::filesystem::exists(n1.daemon->dir() / "state" / "cluster-queue.json"));
    n1.daemon->start();
    EXPECT_GE(cluster_model_status(*n1.daemon).at("queued").get<int>(), 1);

    etcd_->start();
    ASSERT_TRUE(eventually(
        [&] { return n1.daemon->cli_json({"status"}).at("cluster").at("store_reachable") == true; },
        15s))
        << n1.daemon->cli_json({"status"}).at("cluster").dump() << "\n"
        << etcd_->log().substr(0, 3000);
    ASSERT_TRUE(eventually([&] { return remote_entry(*n1.daemon, "db-2").has_value(); }, 10s))
        << "after the store is back (its leases may have expired) each node publishes again";
    // The queued flow is published and applied on node-2: the connection passes now.
    ASSERT_TRUE(
        eventually([&] { return learned(*n2.daemon, "web", "db", other_port.port()); }, 15s))
        << cluster_model_status(*n1.daemon).dump();
    EXPECT_EQ(cluster_model_status(*n1.daemon).at("queued"), 0);
    EXPECT_TRUE(eventually(
        [&] {
            return tcp_connect(web_->netns_path, db_->v4, other_port.port(), kAllowTimeout).ok();
        },
        10s));
}

// Checks 3 and 7: the model is the cluster's. A flow learned on node-1 passes on node-3 for a
// new replica of the same identity that node-1 never saw, and a fourth node started after
// learning enforces the cluster's model (and its identities' modes) from its first second.
TEST_F(MultiNodeTest, TheModelIsTheClustersANewReplicaElsewhereAndALateNodeEnforceIt) {
    const Workload& late = lab_->add_workload("late");
    auto& n1 = add_node("node-1", json::array({endpoint_entry("web-1", "web", *web_)}));
    auto& n2 = add_node("node-2", json::array({endpoint_entry("db-2", "db", *db_)}));
    auto& n3 = add_node("node-3", json::array({endpoint_entry("cache-3", "cache", *cache_)}));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n1.daemon, "db-2").has_value(); }, 10s));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n2.daemon, "web-1").has_value(); }, 10s));
    TcpServer db_server(db_->netns_path, db_->v4);
    TcpServer other_port(db_->netns_path, db_->v4);
    ASSERT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok());
    ASSERT_TRUE(eventually([&] { return learned(*n1.daemon, "web", "db", db_server.port()); }));
    // Node-3 took part in neither end, yet the flow is in its model: it came through the store.
    ASSERT_TRUE(eventually([&] { return learned(*n3.daemon, "web", "db", db_server.port()); }))
        << n3.daemon->cli({"model", "show"}).out << n3.daemon->log();
    ASSERT_TRUE(eventually([&] { return mode_of(*n1.daemon, "web") == "block"; }, 20s));
    ASSERT_TRUE(eventually([&] { return mode_of(*n2.daemon, "db") == "block"; }, 20s));
    // The learning window is the cluster's: web ends learning on node-3 too, where no web
    // workload ever ran.
    ASSERT_TRUE(eventually([&] { return mode_of(*n3.daemon, "web") == "block"; }, 2s));
    ASSERT_TRUE(eventually([&] { return mode_of(*n3.daemon, "db") == "block"; }, 2s));

    // 3. A new replica of web on node-3 (the spare workload): the learned flow passes, an
    // unlearned one is blocked; node-1 never saw this replica.
    write_endpoints(n3.endpoints_file, json::array({endpoint_entry("cache-3", "cache", *cache_),
                                                    endpoint_entry("web-3", "web", *spare_)}));
    ASSERT_TRUE(eventually([&] { return guarded(*n3.daemon, "web-3"); }, 10s));
    ASSERT_TRUE(eventually([&] { return remote_entry(*n2.daemon, "web-3").has_value(); }, 10s));
    EXPECT_TRUE(tcp_connect(spare_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok())
        << "web -> db was learned on node-1; web-3 on node-3 may use it";
    EXPECT_FALSE(tcp_connect(spare_->netns_path, db_->v4, other_port.port()).connected)
        << "web never talked to db on this port: blocked";

    // 7. A fourth node after learning: enforces the model from its start.
    auto& n4 = add_node("node-4", json::array({endpoint_entry("web-4", "web", late)}));
    ASSERT_TRUE(eventually([&] { return guarded(*n4.daemon, "web-4"); }, 10s));
    // No waiting from here on: what the node does at once is what is checked.
    EXPECT_EQ(mode_of(*n4.daemon, "web"), "block")
        << "web's learning ended in the cluster before node-4 started";
    EXPECT_TRUE(learned(*n4.daemon, "web", "db", db_server.port()))
        << n4.daemon->cli({"model", "show"}).out;
    EXPECT_FALSE(tcp_connect(late.netns_path, db_->v4, other_port.port()).connected)
        << "node-4 must not learn what the cluster blocks";
    EXPECT_TRUE(eventually(
        [&] { return tcp_connect(late.netns_path, db_->v4, db_server.port(), kAllowTimeout).ok(); },
        10s))
        << "the learned flow passes once node-2 knows web-4's address";
    EXPECT_FALSE(learned(*n4.daemon, "web", "db", other_port.port()));
    EXPECT_FALSE(learned(*n1.daemon, "web", "db", other_port.port()))
        << "nothing was learned from the blocked attempts anywhere";
    std::cout << "node-4's cluster model at start: " << cluster_model_status(*n4.daemon).dump()
              << "\n";

    // `model allow` and `model remove` on any node apply cluster-wide.
    const std::string other = std::to_string(other_port.port()) + "/tcp";
    ASSERT_TRUE(n3.daemon->cli({"model", "allow", "web", "db", other}).ok());
    ASSERT_TRUE(eventually([&] { return learned(*n1.daemon, "web", "db", other_port.port()); }));
    EXPECT_TRUE(eventually(
        [&] {
            return tcp_connect(web_->netns_path, db_->v4, other_port.port(), kAllowTimeout).ok();
        },
        10s))
        << "allowed on node-3: passes from node-1 to node-2";
    ASSERT_TRUE(n4.daemon->cli({"model", "remove", "web", "db", other}).ok());
    ASSERT_TRUE(eventually([&] {
        return !learned(*n1.daemon, "web", "db", other_port.port()) &&
               !learned(*n2.daemon, "web", "db", other_port.port());
    })) << n1.daemon->cli({"model", "show"}).out;
    EXPECT_FALSE(tcp_connect(web_->netns_path, db_->v4, other_port.port()).connected)
        << "removed on node-4: blocked again on nodes 1 and 2";
}

} // namespace
} // namespace flowwall::testing
