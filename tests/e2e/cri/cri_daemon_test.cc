// SPDX-License-Identifier: Apache-2.0
// flowwalld against a real containerd (Debian's 1.6 with its CRI plugin and the CNI bridge),
// started by the test, with pods made through CRI as kubelet makes them: pods appear with
// their <namespace>/<repository> identity within a second; flows are learned, then a lateral
// move is blocked and audited while learned flows pass; a recreated pod keeps its identity
// and a reused address takes the new owner's; a pod made while flowwalld was down is found at
// start; containerd stopped and started again is reported, enforcement is kept, the source
// resyncs.
#include "tests/e2e/cri/containerd_lab.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kWebIdentity = "shop/flowwall-test/web";
const std::string kDbIdentity = "shop/flowwall-test/db";
const std::string kToolIdentity = "shop/flowwall-test/tool";

std::optional<json> endpoint_named(const DaemonProcess& daemon, const std::string& name) {
    for (const auto& endpoint : daemon.cli_json({"endpoints"}))
        if (endpoint.at("name") == name)
            return endpoint;
    return std::nullopt;
}

// `flowwall status` exits non-zero while a source is unavailable (liveness probes use it):
// its JSON is read whatever the exit code.
std::optional<json> cri_source(const DaemonProcess& daemon) {
    ExecResult status = daemon.cli({"status", "--json"});
    json parsed = json::parse(status.out, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object() || !parsed.contains("sources"))
        return std::nullopt;
    for (const auto& source : parsed.at("sources"))
        if (source.at("name") == "cri")
            return source;
    return std::nullopt;
}

// An echo server per port (busybox nc's persistent mode), then sleep.
std::vector<std::string> echo_servers(std::initializer_list<int> ports) {
    std::string script;
    for (int port : ports)
        script += "nc -ll -p " + std::to_string(port) + " -e /bin/cat & ";
    script += "exec sleep 3600";
    return {"/bin/sh", "-c", script};
}

// What a probe from the pod's network namespace to ip:port printed.
ExecResult probe(const RunningPod& from, const std::string& ip, int port) {
    return Lab::exec(from.netns,
                     {"busybox", "sh", "-c",
                      "echo flowwall-probe | busybox timeout 3 busybox nc -w 2 " + ip + " " +
                          std::to_string(port)},
                     10s);
}

// True when a connection from the pod's network namespace to ip:port got its bytes echoed.
bool connects(const RunningPod& from, const std::string& ip, int port) {
    return probe(from, ip, port).out.find("flowwall-probe") != std::string::npos;
}

std::string mode_of(const DaemonProcess& daemon, const std::string& identity) {
    for (const auto& entry : daemon.cli_json({"identities"}))
        if (entry.at("name") == identity)
            return entry.at("mode").is_string() ? entry.at("mode").get<std::string>() : "";
    return "";
}

size_t records_matching(const DaemonProcess& daemon, const std::string& action,
                        const std::string& src, const std::string& dst, int port) {
    size_t count = 0;
    for (const auto& record : daemon.cli_json_lines({"events", "--limit", "1000"}))
        if (record.at("action") == action && record.at("src") == src && record.at("dst") == dst &&
            record.at("port") == port)
            ++count;
    return count;
}

class CriDaemonTest : public ::testing::Test {
protected:
    void start(ContainerdLab::Options lab_options = {}, std::vector<std::string> extra = {}) {
        lab_ = std::make_unique<ContainerdLab>(lab_options);
        std::vector<std::string> args{"--docker", "false",        "--cri",
                                      "true",     "--cri-socket", lab_->socket()};
        args.insert(args.end(), extra.begin(), extra.end());
        daemon_ = std::make_unique<DaemonProcess>(args);
        daemon_->start();
    }
    void TearDown() override {
        if (HasFailure() && lab_)
            std::cerr << "containerd log (end):\n" << lab_->log() << "\n";
        daemon_.reset(); // stop and --cleanup before the pods go
        lab_.reset();
    }
    RunningPod run(const std::string& name, const std::string& image_base,
                   std::vector<std::string> command = {}) {
        return lab_->run_pod(PodSpec{.namespace_name = "shop",
                                     .name = name,
                                     .image = ContainerdLab::image(image_base),
                                     .command = std::move(command)});
    }

    std::unique_ptr<ContainerdLab> lab_;
    std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(CriDaemonTest, PodsAppearWithinASecondWithTheirNamespaceIdentity) {
    FLOWWALL_REQUIRE_ROOT("runs containerd and flowwalld");
    start();
    RunningPod web = run("web-1", "web");
    // The bound: enforced within a second of the pod being ready.
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "shop/web-1").has_value(); }, 1s))
        << daemon_->log();
    RunningPod db = run("db-1", "db");
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "shop/db-1").has_value(); }, 1s));

    json endpoint = *endpoint_named(*daemon_, "shop/web-1");
    EXPECT_EQ(endpoint.at("identity"), kWebIdentity);
    EXPECT_EQ(endpoint.at("source"), "cri");
    EXPECT_EQ(endpoint.at("addresses"), json({web.ip}));
    ASSERT_TRUE(eventually([&] {
        auto now = endpoint_named(*daemon_, "shop/web-1");
        return now && !now->at("interfaces").empty() &&
               now->at("interfaces")[0].at("attached") == true;
    })) << endpoint_named(*daemon_, "shop/web-1")->dump();
    EXPECT_EQ(pinned_ipcache_identity(daemon_->pin_dir(), web.ip),
              identity_id(*daemon_, kWebIdentity));
    EXPECT_NE(identity_id(*daemon_, kWebIdentity), identity_id(*daemon_, kDbIdentity));

    // The same image in another namespace is another identity.
    lab_->run_pod(PodSpec{
        .namespace_name = "billing", .name = "web-2", .image = ContainerdLab::image("web")});
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "billing/web-2").has_value(); }));
    EXPECT_EQ(endpoint_named(*daemon_, "billing/web-2")->at("identity"),
              "billing/flowwall-test/web");

    // A host-network pod is the node itself: no workload of its own.
    lab_->run_pod(PodSpec{.namespace_name = "kube-system",
                          .name = "agent",
                          .image = ContainerdLab::image("tool"),
                          .host_network = true});
    std::this_thread::sleep_for(1500ms);
    EXPECT_FALSE(endpoint_named(*daemon_, "kube-system/agent").has_value());
    auto source = cri_source(*daemon_);
    ASSERT_TRUE(source);
    EXPECT_EQ(source->at("state"), "synced") << source->dump();
}

TEST_F(CriDaemonTest, FlowsAreLearnedThenALateralMoveIsBlockedAndAudited) {
    FLOWWALL_REQUIRE_ROOT("runs containerd and flowwalld");
    start({}, {"--learning-period", "6s", "--after-learning", "block"});
    RunningPod db = run("db", "db", echo_servers({3306, 3307}));
    RunningPod web = run("web", "web", echo_servers({8080}));
    RunningPod tool = run("tool", "tool");
    ASSERT_TRUE(eventually([&] {
        return mode_of(*daemon_, kWebIdentity) == "learn" &&
               mode_of(*daemon_, kDbIdentity) == "learn" &&
               mode_of(*daemon_, kToolIdentity) == "learn";
    }));
    ASSERT_TRUE(eventually([&] {
        return daemon_->cli_json({"status"}).at("datapath").at("interfaces_guarded") == 3;
    }));

    ASSERT_TRUE(eventually([&] { return connects(web, db.ip, 3306); }, 10s))
        << "exit " << probe(web, db.ip, 3306).exit_code << ": " << probe(web, db.ip, 3306).err;
    ASSERT_TRUE(eventually(
        [&] {
            const json model = daemon_->cli_json({"model", "show"}); // outlives the loop
            for (const auto& flow : model.at("flows"))
                if (flow.at("src") == kWebIdentity && flow.at("dst") == kDbIdentity &&
                    flow.at("port") == 3306)
                    return true;
            return false;
        },
        10s))
        << daemon_->cli({"model", "show", "--json"}).out;
    ASSERT_TRUE(eventually(
        [&] {
            return mode_of(*daemon_, kWebIdentity) == "block" &&
                   mode_of(*daemon_, kDbIdentity) == "block" &&
                   mode_of(*daemon_, kToolIdentity) == "block";
        },
        20s));

    EXPECT_TRUE(connects(web, db.ip, 3306)) << "the learned flow passes";
    EXPECT_FALSE(connects(tool, db.ip, 3306)) << "tool -> db: the lateral move";
    EXPECT_FALSE(connects(db, web.ip, 8080)) << "db -> web";
    EXPECT_TRUE(eventually([&] {
        return records_matching(*daemon_, "block", kToolIdentity, kDbIdentity, 3306) == 1 &&
               records_matching(*daemon_, "block", kDbIdentity, kWebIdentity, 8080) == 1;
    })) << daemon_->cli({"events"}).out;
}

TEST_F(CriDaemonTest, ARecreatedPodKeepsItsIdentityAndAReusedAddressTakesTheNewOwners) {
    FLOWWALL_REQUIRE_ROOT("runs containerd and flowwalld");
    // Two addresses: host-local hands them out in turn, so the third pod reuses the first's.
    start(ContainerdLab::Options{.first_host = 10, .last_host = 11});
    RunningPod web = run("web", "web");
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "shop/web").has_value(); }));
    const uint32_t web_id = identity_id(*daemon_, kWebIdentity);
    ASSERT_TRUE(
        eventually([&] { return pinned_ipcache_identity(daemon_->pin_dir(), web.ip) == web_id; }));

    lab_->remove_pod(web);
    ASSERT_TRUE(eventually([&] { return !endpoint_named(*daemon_, "shop/web").has_value(); }));
    EXPECT_TRUE(eventually([&] {
        return pinned_ipcache_identity(daemon_->pin_dir(), web.ip) == std::nullopt;
    })) << "a removed pod's address leaves the ipcache";

    RunningPod web_again = run("web", "web");
    ASSERT_NE(web_again.ip, web.ip) << "host-local gives the next address";
    ASSERT_TRUE(eventually([&] {
        auto endpoint = endpoint_named(*daemon_, "shop/web");
        return endpoint && endpoint->at("addresses") == json({web_again.ip});
    }));
    EXPECT_EQ(endpoint_named(*daemon_, "shop/web")->at("identity"), kWebIdentity);
    EXPECT_TRUE(eventually(
        [&] { return pinned_ipcache_identity(daemon_->pin_dir(), web_again.ip) == web_id; }));

    RunningPod db = run("db", "db");
    ASSERT_EQ(db.ip, web.ip) << "the test relies on host-local reusing the first address";
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "shop/db").has_value(); }));
    const uint32_t db_id = identity_id(*daemon_, kDbIdentity);
    EXPECT_TRUE(
        eventually([&] { return pinned_ipcache_identity(daemon_->pin_dir(), db.ip) == db_id; }));
    EXPECT_EQ(identity_id(*daemon_, kWebIdentity), web_id);
}

TEST_F(CriDaemonTest, APodMadeWhileTheDaemonWasDownIsFoundAtStart) {
    FLOWWALL_REQUIRE_ROOT("runs containerd and flowwalld");
    start();
    daemon_->stop(SIGTERM);
    RunningPod web = run("web", "web");
    daemon_->start();
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "shop/web").has_value(); }));
    EXPECT_TRUE(eventually([&] {
        return pinned_ipcache_identity(daemon_->pin_dir(), web.ip) ==
               identity_id(*daemon_, kWebIdentity);
    }));
}

TEST_F(CriDaemonTest, ContainerdRestartIsReportedEnforcementKeptAndResynced) {
    FLOWWALL_REQUIRE_ROOT("runs containerd and flowwalld");
    start();
    RunningPod web = run("web", "web");
    RunningPod db = run("db", "db");
    ASSERT_TRUE(eventually([&] { return endpoint_named(*daemon_, "shop/db").has_value(); }));
    const uint32_t web_id = identity_id(*daemon_, kWebIdentity);
    ASSERT_TRUE(
        eventually([&] { return pinned_ipcache_identity(daemon_->pin_dir(), web.ip) == web_id; }));

    lab_->stop_containerd();
    ASSERT_TRUE(eventually(
        [&] {
            auto source = cri_source(*daemon_);
            return source && source->at("state") == "unavailable";
        },
        5s))
        << daemon_->cli({"status"}).out;
    // Reported by /healthz too, and what is in the kernel stays.
    auto [health_status, health_body] = daemon_->web_get("/healthz");
    EXPECT_NE(health_body.find("cri"), std::string::npos) << health_status << " " << health_body;
    EXPECT_EQ(pinned_ipcache_identity(daemon_->pin_dir(), web.ip), web_id);
    EXPECT_TRUE(endpoint_named(*daemon_, "shop/web").has_value());

    lab_->start_containerd();
    ASSERT_TRUE(eventually(
        [&] {
            auto source = cri_source(*daemon_);
            return source && source->at("state") == "synced";
        },
        15s))
        << daemon_->cli({"status"}).out;
    // The pods outlived containerd (their shims kept running): still there, still enforced.
    EXPECT_TRUE(endpoint_named(*daemon_, "shop/web").has_value());
    EXPECT_EQ(pinned_ipcache_identity(daemon_->pin_dir(), web.ip), web_id);
    // And the source follows changes again.
    lab_->remove_pod(db);
    EXPECT_TRUE(eventually([&] { return !endpoint_named(*daemon_, "shop/db").has_value(); }));
}

} // namespace
} // namespace flowwall::testing
