// SPDX-License-Identifier: Apache-2.0
// Learning and enforcement against real containers, as a user would run it: images web, db
// and tool; web -> db:3306 is learned; in block mode every other attempt is refused and
// audited once with the right identities; a web container started later (new address)
// needs no relearning; alert mode lets the anomalies through as alerts; the model survives
// a daemon restart.
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/docker_host.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kWeb = "flowwall-test/web:1";
constexpr const char* kDb = "flowwall-test/db:1";
constexpr const char* kTool = "flowwall-test/tool:1";

// An echo server per port, kept running by busybox nc's persistent mode.
std::vector<std::string> echo_servers(std::initializer_list<int> ports) {
    std::string script;
    for (int port : ports)
        script += "nc -ll -p " + std::to_string(port) + " -e /bin/cat & ";
    script += "exec sleep 3600";
    return {"sh", "-c", script};
}

// True when `from` opened a connection to ip:port and got its bytes echoed back.
bool connects(const std::string& from, const std::string& ip, int port) {
    ExecResult result =
        docker({"exec", from, "sh", "-c",
                "echo flowwall-probe | timeout 3 nc -w 2 " + ip + " " + std::to_string(port)},
               10s);
    return result.out.find("flowwall-probe") != std::string::npos;
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

std::string mode_of(const DaemonProcess& daemon, const std::string& identity) {
    for (const auto& entry : daemon.cli_json({"identities"}))
        if (entry.at("name") == identity)
            return entry.at("mode").is_string() ? entry.at("mode").get<std::string>() : "";
    return "";
}

TEST(DockerLearning, LearnThenBlockThenAlertAndTheModelSurvivesARestart) {
    FLOWWALL_REQUIRE_ROOT("runs dockerd and flowwalld");
    ensure_dockerd();
    for (const char* image : {kWeb, kDb, kTool})
        ensure_busybox_image(image);
    DockerScope scope;
    std::string network = scope.create_network("learn");
    auto daemon = std::make_unique<DaemonProcess>(
        std::vector<std::string>{"--learning-period", "6s", "--after-learning", "block"});
    daemon->start();

    std::vector<std::string> db_args{"--network", network, kDb};
    for (auto& arg : echo_servers({3306, 3307}))
        db_args.push_back(arg);
    scope.run("db", db_args);
    std::vector<std::string> web_args{"--network", network, kWeb};
    for (auto& arg : echo_servers({8080}))
        web_args.push_back(arg);
    std::string web = scope.run("web", web_args);
    std::string tool = scope.run("tool", {"--network", network, kTool, "sleep", "3600"});
    std::string db_ip = container_ip(scope.name("db"));
    std::string web_ip = container_ip(web);
    ASSERT_TRUE(eventually([&] {
        return mode_of(*daemon, "flowwall-test/web") == "learn" &&
               mode_of(*daemon, "flowwall-test/db") == "learn" &&
               mode_of(*daemon, "flowwall-test/tool") == "learn";
    })) << "every identity learns from when it is first seen";
    ASSERT_TRUE(eventually(
        [&] { return daemon->cli_json({"status"}).at("datapath").at("interfaces_guarded") == 3; }));

    // Learning: the one flow of the application (retried: db's servers may still be starting).
    ASSERT_TRUE(eventually([&] { return connects(web, db_ip, 3306); }, 10s));
    ASSERT_TRUE(eventually([&] {
        const json model = daemon->cli_json({"model", "show"});
        for (const auto& flow : model.at("flows"))
            if (flow.at("src") == "flowwall-test/web" && flow.at("dst") == "flowwall-test/db" &&
                flow.at("port") == 3306 && flow.at("protocol") == "tcp")
                return true;
        return false;
    })) << daemon->cli({"model", "show"}).out;
    ASSERT_TRUE(eventually([&] { return mode_of(*daemon, "flowwall-test/web") == "block"; }, 15s))
        << "learning ends after its period in the after-learning action";
    ASSERT_TRUE(eventually(
        [&] {
            return mode_of(*daemon, "flowwall-test/db") == "block" &&
                   mode_of(*daemon, "flowwall-test/tool") == "block";
        },
        15s));

    // Block: the learned flow passes, everything else is refused and audited once.
    EXPECT_TRUE(connects(web, db_ip, 3306));
    EXPECT_FALSE(connects(web, db_ip, 3307)) << "web -> db on another port";
    EXPECT_FALSE(connects(scope.name("db"), web_ip, 8080)) << "db -> web";
    EXPECT_FALSE(connects(tool, db_ip, 3306)) << "tool -> db";
    EXPECT_TRUE(eventually([&] {
        return records_matching(*daemon, "block", "flowwall-test/web", "flowwall-test/db", 3307) ==
                   1 &&
               records_matching(*daemon, "block", "flowwall-test/db", "flowwall-test/web", 8080) ==
                   1 &&
               records_matching(*daemon, "block", "flowwall-test/tool", "flowwall-test/db", 3306) ==
                   1;
    })) << daemon->cli({"events"}).out;
    for (const auto& record : daemon->cli_json_lines({"events"})) {
        if (record.at("src") == "flowwall-test/tool") {
            EXPECT_EQ(record.at("dst_ip"), db_ip) << record.dump();
        }
    }

    // A second web container, started after learning, with its own address: no relearning.
    std::string web2 = scope.run("web2", {"--network", network, kWeb, "sleep", "3600"});
    ASSERT_NE(container_ip(web2), web_ip);
    ASSERT_TRUE(eventually(
        [&] { return daemon->cli_json({"status"}).at("datapath").at("interfaces_guarded") == 4; }));
    EXPECT_TRUE(connects(web2, db_ip, 3306));

    // Alert: the same anomalies pass, and are recorded as alerts.
    ASSERT_EQ(daemon->cli({"mode", "alert"}).exit_code, 0);
    EXPECT_TRUE(connects(web, db_ip, 3307));
    EXPECT_TRUE(connects(tool, db_ip, 3306));
    EXPECT_TRUE(eventually([&] {
        return records_matching(*daemon, "alert", "flowwall-test/web", "flowwall-test/db", 3307) >=
                   1 &&
               records_matching(*daemon, "alert", "flowwall-test/tool", "flowwall-test/db", 3306) >=
                   1;
    }));

    // The model survives a restart unchanged.
    json before = daemon->cli_json({"model", "show"}).at("flows");
    ASSERT_EQ(daemon->stop(SIGTERM), 0);
    daemon->start();
    json after = daemon->cli_json({"model", "show"}).at("flows");
    EXPECT_EQ(before, after);
    EXPECT_EQ(mode_of(*daemon, "flowwall-test/web"), "alert") << "modes survive too";
    daemon.reset(); // stop and --cleanup before the containers go
}

} // namespace
} // namespace flowwall::testing
