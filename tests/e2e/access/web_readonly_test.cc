// SPDX-License-Identifier: Apache-2.0
// The web endpoint (--web-listen) is read-only and local by default: writes of any method, to
// any path, are refused (404/405, never 2xx) and change nothing the control API would show or
// the state directory holds; the default address is a loopback one.
#include "src/config/daemon_config.h"
#include "src/web/web_server.h"
#include "tests/e2e/access/access_support.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"
#include "tests/support/temp_dir.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace flowwall::testing {
namespace {

using nlohmann::json;

bool is_loopback(const std::string& host) {
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

TEST(WebEndpointDefaultTest, ListensOnLoopbackOnly) {
    // The option table's default, as a daemon started with an empty config file gets it.
    TempDir dir;
    TempDir::write(dir / "config.json", "{}");
    auto loaded = config::load_daemon_config({"--config", (dir / "config.json").string()});
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    for (const std::string& listen :
         {loaded.value().config.web_listen, config::DaemonConfig{}.web_listen}) {
        auto parsed = web::parse_listen_address(listen);
        ASSERT_TRUE(parsed.ok()) << parsed.error().message;
        EXPECT_TRUE(is_loopback(parsed.value().first))
            << "the default --web-listen " << listen << " must be a loopback address";
    }
}

// Everything a write could change, as the operator sees it: modes, the model, the state
// files' contents.
std::string observable_state(const DaemonProcess& daemon) {
    std::ostringstream state;
    for (const auto& identity : daemon.cli_json({"identities"}))
        state << identity.at("name") << " " << identity.at("mode") << " " << identity.at("flows")
              << "\n";
    state << daemon.cli_json({"mode"}).at("after_learning") << "\n";
    state << daemon.cli_json({"model", "show"}).dump() << "\n";
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(daemon.dir() / "state")) {
        state << entry.path().filename().string() << ":";
        if (entry.is_regular_file())
            state << TempDir::read(entry.path());
        state << "\n";
    }
    return state.str();
}

TEST(WebEndpointAccessTest, WritesAreRefusedAndChangeNothing) {
    FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs");
    Lab lab;
    const Workload& web = lab.add_workload("web");
    auto endpoints = std::filesystem::temp_directory_path() / (lab.prefix() + "-endpoints.json");
    RemovedAtEnd remove_endpoints{endpoints};
    std::ofstream(endpoints) << json{{"endpoints",
                                      {{{"name", "web-1"},
                                        {"identity", "web"},
                                        {"netns", web.netns_path},
                                        {"addresses", {web.v4.str()}}}}}}
                                    .dump();

    DaemonProcess daemon({"--docker", "false", "--endpoints-file", endpoints.string()});
    daemon.start();
    ASSERT_TRUE(eventually([&] { return identity_id(daemon, "web") != 0; }));
    const std::string before = observable_state(daemon);

    httplib::Client client(daemon.web_address());
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    // What a write would look like if there were one: the control API's own documents.
    const std::string body = R"({"mode": "block", "identity": "web", "for": "1h"})";
    const std::string type = "application/json";
    const std::map<std::string, std::function<httplib::Result(const std::string&)>> methods{
        {"POST", [&](const std::string& path) { return client.Post(path, body, type); }},
        {"PUT", [&](const std::string& path) { return client.Put(path, body, type); }},
        {"PATCH", [&](const std::string& path) { return client.Patch(path, body, type); }},
        {"DELETE", [&](const std::string& path) { return client.Delete(path, body, type); }},
    };
    for (const std::string path : {"/metrics", "/healthz", "/", "/no-such-page", "/v1/mode"}) {
        for (const auto& [method, send] : methods) {
            auto answer = send(path);
            ASSERT_TRUE(answer) << method << " " << path << ": "
                                << httplib::to_string(answer.error());
            EXPECT_TRUE(answer->status == 404 || answer->status == 405)
                << method << " " << path << " answered " << answer->status << ": " << answer->body;
        }
    }

    EXPECT_EQ(observable_state(daemon), before);
    auto [health, text] = daemon.web_get("/healthz");
    EXPECT_EQ(health, 200) << text;
    EXPECT_EQ(log_lines_at(daemon, 0, {"error", "critical"}), std::vector<std::string>{});
}

} // namespace
} // namespace flowwall::testing
