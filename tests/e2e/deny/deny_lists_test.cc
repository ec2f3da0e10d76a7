// SPDX-License-Identifier: Apache-2.0
// Deny lists end to end: a real flowwalld in the lab's hub namespace (the lab's "node"), an
// "outside" namespace whose hub-side veth is the node's uplink (the XDP prefilter attached
// there), a workload "web" behind the TC programs, and the test's own feed server on the hub's
// loopback. Static lists, feeds (applied after a refresh, 500 and empty answers keep the last
// good version, an edit lets traffic through again), an outbound list, and a CIDR entity that
// is learned and enforced.
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/support/feed_server.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;

class DenyListsE2eTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs flowwalld with the XDP prefilter on a namespace lab");
        lab_ = std::make_unique<Lab>();
        web_ = &lab_->add_workload("web");
        outside_ = &lab_->add_workload("outside");
        // The feed server listens on the hub's loopback, where the daemon runs.
        Lab::run_in_netns(lab_->hub_netns_path(), [this] {
            Lab::exec(lab_->hub_netns(), {"ip", "link", "set", "lo", "up"});
            feed_ = std::make_unique<FeedServer>();
        });
        file_ = std::filesystem::temp_directory_path() / ("fw-deny-" + lab_->prefix() + ".json");
        write_endpoints(file_, json::array({endpoint_entry("web-1", "web", *web_)}));
        daemon_ = std::make_unique<DaemonProcess>(
            std::vector<std::string>{"--docker", "false", "--endpoints-file", file_.string(),
                                     "--uplinks", outside_->hub_ifname});
        daemon_->set_netns(lab_->hub_netns_path());
        daemon_->start();
        server_ = std::make_unique<TcpServer>(web_->netns_path, web_->v4);
        ASSERT_TRUE(reachable()) << "outside reaches web before any list";
    }
    void TearDown() override {
        server_.reset();
        daemon_.reset(); // stops it and runs --cleanup
        feed_.reset();
        lab_.reset();
        std::error_code ignored;
        std::filesystem::remove(file_, ignored);
    }

    bool reachable() {
        return tcp_connect(outside_->netns_path, web_->v4, server_->port(), kAllowTimeout).ok();
    }
    bool refused() {
        return !tcp_connect(outside_->netns_path, web_->v4, server_->port(), kDenyTimeout).ok();
    }
    json list(const std::string& name) { return daemon_->cli_json({"deny", "show", name}); }
    std::string outside_v4() { return outside_->v4.str(); }

    std::unique_ptr<Lab> lab_;
    const Workload* web_ = nullptr;
    const Workload* outside_ = nullptr;
    std::unique_ptr<FeedServer> feed_;
    std::filesystem::path file_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::unique_ptr<TcpServer> server_;
};

TEST_F(DenyListsE2eTest, UplinkGetsTheXdpPrefilter) {
    json status = daemon_->cli_json({"status"});
    ASSERT_EQ(status.at("outside").at("uplinks").size(), 1u) << status.dump(2);
    EXPECT_EQ(status.at("outside").at("uplinks")[0].at("name"), outside_->hub_ifname);
    EXPECT_TRUE(status.at("outside").at("uplinks")[0].at("error").is_null()) << status.dump(2);
    std::string mode = status.at("outside").at("uplinks")[0].at("xdp_mode");
    EXPECT_TRUE(mode == "native" || mode == "generic") << mode;
}

TEST_F(DenyListsE2eTest, AStaticListDropsAndCountsThenLetsGoWhenRemoved) {
    ExecResult created = daemon_->cli({"deny", "create", "mine", "--prefix", outside_v4()});
    ASSERT_TRUE(created.ok()) << created.err;
    EXPECT_TRUE(refused());
    EXPECT_TRUE(eventually([&] { return list("mine").at("dropped").at("packets") > 0; }))
        << list("mine").dump(2);
    ASSERT_TRUE(daemon_->cli({"deny", "remove", "mine", outside_v4()}).ok());
    EXPECT_TRUE(reachable());
}

TEST_F(DenyListsE2eTest, ListsAndTheUplinkSurviveARestart) {
    ASSERT_TRUE(daemon_->cli({"deny", "create", "mine", "--prefix", outside_v4()}).ok());
    ASSERT_TRUE(refused());
    ASSERT_EQ(daemon_->stop(), 0);
    EXPECT_TRUE(refused()) << "the prefilter stays attached while the daemon is away";
    daemon_->start();
    EXPECT_EQ(list("mine").at("prefixes"), 1);
    EXPECT_TRUE(list("mine").at("in_force").get<bool>());
    EXPECT_TRUE(refused());
    ASSERT_TRUE(daemon_->cli({"deny", "delete", "mine"}).ok());
    EXPECT_TRUE(reachable()) << "the adopted uplink link carries the new state";
}

TEST_F(DenyListsE2eTest, AFeedIsAppliedKeptThroughFailuresAndFollowsEdits) {
    feed_->set_body("# test feed\n203.0.113.0/24\n" + outside_v4() + "\n");
    ExecResult created = daemon_->cli({"deny", "create", "feed", "--url", feed_->url(), "--refresh",
                                       "1s", "--max-shrink", "0.9"});
    ASSERT_TRUE(created.ok()) << created.err;
    ASSERT_TRUE(eventually([&] { return list("feed").at("prefixes") == 2; })) << daemon_->log();
    EXPECT_TRUE(refused());

    // 500: the last good version stays, and says why.
    feed_->set_status(500);
    ASSERT_TRUE(eventually([&] { return !list("feed").at("last_error").is_null(); }));
    EXPECT_NE(list("feed").at("last_error").get<std::string>().find("HTTP 500"), std::string::npos);
    EXPECT_TRUE(refused());
    EXPECT_NE(daemon_->cli_json({"status"}).at("outside").at("deny_lists").at("failing").size(),
              0u);
    // An empty body: the same.
    feed_->set_status(200);
    feed_->set_body("");
    ASSERT_TRUE(eventually([&] {
        auto error = list("feed").at("last_error");
        return error.is_string() && error.get<std::string>().find("empty") != std::string::npos;
    }));
    EXPECT_TRUE(refused());

    // The feed drops the outside's address: traffic flows again within a refresh or two.
    feed_->set_body("203.0.113.0/24\n");
    ASSERT_TRUE(
        eventually([&] { return list("feed").at("prefixes") == 1; }, std::chrono::seconds(5)));
    EXPECT_TRUE(list("feed").at("last_error").is_null());
    EXPECT_TRUE(reachable());
}

TEST_F(DenyListsE2eTest, AnOutboundListRefusesTheWorkloadsConnections) {
    TcpServer outside_server(outside_->netns_path, outside_->v4);
    ASSERT_TRUE(
        tcp_connect(web_->netns_path, outside_->v4, outside_server.port(), kAllowTimeout).ok());
    ASSERT_TRUE(
        daemon_->cli({"deny", "create", "c2", "--direction", "outbound", "--prefix", outside_v4()})
            .ok());
    EXPECT_FALSE(
        tcp_connect(web_->netns_path, outside_->v4, outside_server.port(), kDenyTimeout).ok());
    // Replies too: web does not talk to a listed address at all (datapath.md, Deny lists).
    EXPECT_TRUE(refused());
    ASSERT_TRUE(daemon_->cli({"deny", "delete", "c2"}).ok());
    EXPECT_TRUE(
        tcp_connect(web_->netns_path, outside_->v4, outside_server.port(), kAllowTimeout).ok());
    EXPECT_TRUE(reachable());
}

TEST_F(DenyListsE2eTest, ACidrEntityIsLearnedAndEnforced) {
    ASSERT_TRUE(daemon_->cli({"entity", "add", "partner", outside_v4() + "/32"}).ok());
    TcpServer outside_server(outside_->netns_path, outside_->v4);
    // web learns (the default mode): its connection to the entity is learned under its name.
    ASSERT_TRUE(
        tcp_connect(web_->netns_path, outside_->v4, outside_server.port(), kAllowTimeout).ok());
    ASSERT_TRUE(eventually([&] {
        const json model = daemon_->cli_json({"model", "show"});
        for (const auto& flow : model.at("flows"))
            if (flow.at("src") == "web" && flow.at("dst") == "partner")
                return true;
        return false;
    })) << daemon_->cli_json({"model", "show"}).dump(2);
    // Enforced: with both ends blocking (an entity learns like an identity, and either end
    // learning would let anything through), web reaches the learned port of partner only.
    ASSERT_TRUE(daemon_->cli({"mode", "block", "--identity", "web"}).ok());
    ASSERT_TRUE(eventually([&] {
        return daemon_->cli({"mode", "block", "--identity", "partner"}).ok();
    })) << daemon_->cli({"mode", "block", "--identity", "partner"}).err;
    EXPECT_TRUE(
        tcp_connect(web_->netns_path, outside_->v4, outside_server.port(), kAllowTimeout).ok());
    TcpServer other(outside_->netns_path, outside_->v4);
    EXPECT_FALSE(tcp_connect(web_->netns_path, outside_->v4, other.port(), kDenyTimeout).ok());
}

} // namespace
} // namespace flowwall::testing
