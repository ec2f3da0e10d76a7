// SPDX-License-Identifier: Apache-2.0
// flowwalld against a real Docker engine: containers show up with their image identity
// within a second, their host-side veth peers get the programs, their addresses follow
// restarts, stops and reuse by another image.
#include "src/datapath/tc_attachment.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/support/docker_host.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;

constexpr const char* kWebImage = "flowwall-test/web:1";
constexpr const char* kDbImage = "flowwall-test/db:1";

std::optional<json> endpoint_named(const DaemonProcess& daemon, const std::string& name) {
    for (const auto& endpoint : daemon.cli_json({"endpoints"}))
        if (endpoint.at("name") == name)
            return endpoint;
    return std::nullopt;
}

class DockerDaemonTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs dockerd and flowwalld");
        ensure_dockerd();
        ensure_busybox_image(kWebImage);
        ensure_busybox_image(kDbImage);
        scope_ = std::make_unique<DockerScope>();
        network_ = scope_->create_network("net");
        daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{});
        daemon_->start();
    }
    void TearDown() override {
        daemon_.reset(); // stop and --cleanup before the containers go
        scope_.reset();
    }

    std::string run(const std::string& base, const char* image) {
        return scope_->run(base, {"--network", network_, image, "sleep", "600"});
    }

    std::unique_ptr<DockerScope> scope_;
    std::string network_;
    std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DockerDaemonTest, ContainersAppearWithTheirImageIdentityAndGetThePrograms) {
    std::string web = scope_->name("web");
    run("web", kWebImage);
    // The bound: in `flowwall endpoints` within a second of starting.
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, web).has_value(); },
                           std::chrono::seconds(1)))
        << daemon_->log();
    run("db", kDbImage);
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, scope_->name("db")).has_value(); },
                           std::chrono::seconds(1)));

    json endpoint = *endpoint_named(*daemon_, web);
    EXPECT_EQ(endpoint.at("identity"), "flowwall-test/web") << "tag stripped by default";
    EXPECT_EQ(endpoint.at("source"), "docker");
    std::string ip = container_ip(web);
    EXPECT_EQ(endpoint.at("addresses"), json({ip}));
    ASSERT_TRUE(eventually([&] {
        auto now = endpoint_named(*daemon_, web);
        return now && now->at("interfaces").size() == 1 &&
               now->at("interfaces")[0].at("attached") == true;
    }));
    endpoint = *endpoint_named(*daemon_, web);
    const json& guard = endpoint.at("interfaces")[0];
    EXPECT_EQ(guard.at("placement"), "host-peer") << guard.dump();
    std::string veth = guard.at("device");
    EXPECT_EQ(veth.rfind("veth", 0), 0u) << veth;
    for (auto hook : {datapath::TcHook::ingress, datapath::TcHook::egress}) {
        auto programs = datapath::tcx_program_ids({"", veth}, hook);
        ASSERT_TRUE(programs) << programs.error().to_string();
        EXPECT_EQ(programs.value().size(), 1u);
    }
    EXPECT_EQ(pinned_ipcache_identity(daemon_->pin_dir(), ip),
              identity_id(*daemon_, "flowwall-test/web"));
    EXPECT_NE(identity_id(*daemon_, "flowwall-test/web"),
              identity_id(*daemon_, "flowwall-test/db"));
}

TEST_F(DockerDaemonTest, AddressesFollowRestartStopAndReuseByAnotherImage) {
    std::string web = scope_->name("web");
    run("web", kWebImage);
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, web).has_value(); }));
    std::string first_ip = container_ip(web);
    uint32_t web_id = identity_id(*daemon_, "flowwall-test/web");
    ASSERT_TRUE(eventually(
        [&] { return pinned_ipcache_identity(daemon_->pin_dir(), first_ip) == web_id; }));

    // Stop web: its address leaves the ipcache.
    docker_ok({"stop", "-t", "0", web});
    ASSERT_TRUE(eventually([&] { return !endpoint_named(*daemon_, web).has_value(); }));
    EXPECT_TRUE(eventually([&] {
        return pinned_ipcache_identity(daemon_->pin_dir(), first_ip) == std::nullopt;
    })) << "a stopped container's address is no longer in the ipcache";

    // A container of another image takes the freed address (Docker hands out the lowest
    // free one): the address maps to the new identity.
    std::string db = scope_->name("db");
    run("db", kDbImage);
    ASSERT_EQ(container_ip(db), first_ip) << "the test relies on Docker reusing the address";
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, db).has_value(); }));
    uint32_t db_id = identity_id(*daemon_, "flowwall-test/db");
    EXPECT_TRUE(
        eventually([&] { return pinned_ipcache_identity(daemon_->pin_dir(), first_ip) == db_id; }));

    // web starts again with a new address and keeps its identity.
    docker_ok({"start", web});
    std::string second_ip = container_ip(web);
    ASSERT_NE(second_ip, first_ip);
    ASSERT_TRUE(eventually([&] {
        auto endpoint = endpoint_named(*daemon_, web);
        return endpoint && endpoint->at("addresses") == json({second_ip});
    }));
    EXPECT_EQ(endpoint_named(*daemon_, web)->at("identity"), "flowwall-test/web");
    EXPECT_TRUE(eventually(
        [&] { return pinned_ipcache_identity(daemon_->pin_dir(), second_ip) == web_id; }));
    EXPECT_EQ(pinned_ipcache_identity(daemon_->pin_dir(), first_ip), db_id)
        << "the reused address keeps the new owner's identity";
    EXPECT_EQ(identity_id(*daemon_, "flowwall-test/web"), web_id);
}

TEST_F(DockerDaemonTest, ContainersThatCameWhileTheDaemonWasDownAreFoundAtStart) {
    daemon_->stop(SIGTERM);
    std::string web = scope_->name("web");
    run("web", kWebImage);
    daemon_->start();
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, web).has_value(); }));
    EXPECT_EQ(pinned_ipcache_identity(daemon_->pin_dir(), container_ip(web)),
              identity_id(*daemon_, "flowwall-test/web"));
}

} // namespace
} // namespace flowwall::testing
