// SPDX-License-Identifier: Apache-2.0
// A real Prometheus (Debian's, on loopback, scraping every second) scrapes a real flowwalld
// on a lab. The test asks Prometheus's HTTP API, as a dashboard would, and must see the
// blocked-connection counter rise after blocked attempts; promtool checks the exposition.
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/child_process.h"
#include "tests/support/require_root.h"
#include "tests/support/temp_dir.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A loopback port nobody listens on now (Prometheus takes its address from a flag, so the
// test cannot hand it port 0).
int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        throw std::runtime_error("no free loopback port");
    ::close(fd);
    return ntohs(address.sin_port);
}

bool have(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

class PrometheusServer {
public:
    PrometheusServer(const std::filesystem::path& dir, const std::string& target)
        : port_(free_loopback_port()) {
        auto config = dir / "prometheus.yml";
        std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                 "scrape_configs:\n  - job_name: flowwalld\n"
                                 "    static_configs:\n      - targets: ['"
                              << target << "']\n";
        process_.emplace(std::vector<std::string>{
            "prometheus", "--config.file=" + config.string(),
            "--storage.tsdb.path=" + (dir / "tsdb").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"});
    }

    // The value of an instant query with one series; nullopt while there is none.
    std::optional<double> query(const std::string& expression) {
        httplib::Client client("127.0.0.1", port_);
        client.set_connection_timeout(1);
        client.set_read_timeout(2);
        auto response = client.Get("/api/v1/query", {{"query", expression}}, httplib::Headers{});
        if (!response || response->status != 200)
            return std::nullopt;
        json body = json::parse(response->body, nullptr, false);
        if (body.is_discarded() || body["status"] != "success" ||
            body["data"]["result"].size() != 1)
            return std::nullopt;
        return std::stod(body["data"]["result"][0]["value"][1].get<std::string>());
    }

    std::string errors() { return process_->errors(); }

private:
    int port_;
    std::optional<ChildProcess> process_;
};

TEST(PrometheusScrape, SeesTheBlockedCounterRiseAfterBlockedAttempts) {
    FLOWWALL_REQUIRE_ROOT("the lab's namespaces and the daemon's programs");
    if (!have("prometheus") || !have("promtool")) {
        if (std::getenv("CI") != nullptr)
            FAIL() << "prometheus/promtool missing: run ./scripts/install-deps (Debian's "
                      "prometheus)";
        GTEST_SKIP() << "prometheus/promtool missing";
    }
    Lab::remove_stale();
    Lab lab;
    const Workload& client = lab.add_workload("client");
    const Workload& server = lab.add_workload("server");
    TcpServer listener(server.netns_path, server.v4, 5432);
    TempDir dir;
    json endpoints = json::array();
    for (const Workload* w : {&client, &server})
        endpoints.push_back({{"name", w->name + "-1"},
                             {"identity", w->name},
                             {"netns", w->netns_path},
                             {"addresses", {w->v4.str()}}});
    auto endpoints_file = dir.path() / "endpoints.json";
    std::ofstream(endpoints_file) << json{{"endpoints", endpoints}}.dump();
    // Nothing learned and block from the start: every new connection between them is blocked.
    DaemonProcess daemon({"--docker", "false", "--endpoints-file", endpoints_file.string(),
                          "--learning-period", "0s", "--after-learning", "block"});
    daemon.start();
    ASSERT_TRUE(eventually(
        [&] { return daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") == 2; }));

    auto [status, text] = daemon.web_get("/metrics");
    ASSERT_EQ(status, 200);
    auto metrics_file = dir.path() / "metrics.txt";
    std::ofstream(metrics_file) << text;
    ExecResult checked =
        Lab::exec("", {"sh", "-c", "promtool check metrics < " + metrics_file.string()});
    EXPECT_TRUE(checked.ok()) << checked.out << checked.err;

    std::string target = daemon.web_address().substr(std::string("http://").size());
    PrometheusServer prometheus(dir.path(), target);
    const std::string blocked = "flowwall_connections_blocked_total";
    std::optional<double> before;
    ASSERT_TRUE(eventually([&] { return (before = prometheus.query(blocked)).has_value(); }, 30s))
        << "Prometheus never had " << blocked << " from " << target << "\n"
        << prometheus.errors();
    ASSERT_TRUE(eventually([&] { return prometheus.query("up{job=\"flowwalld\"}") == 1.0; }, 10s));

    constexpr int kAttempts = 3;
    for (int i = 0; i < kAttempts; ++i)
        EXPECT_FALSE(tcp_connect(client.netns_path, server.v4, 5432).ok());

    std::optional<double> after;
    EXPECT_TRUE(eventually(
        [&] {
            after = prometheus.query(blocked);
            return after && *after >= *before + 1;
        },
        15s))
        << blocked << " stayed at " << *before << " in Prometheus\n"
        << prometheus.errors();
    std::printf("Prometheus saw %s go from %.0f to %.0f after %d blocked attempts\n",
                blocked.c_str(), *before, after.value_or(-1), kAttempts);
}

} // namespace
} // namespace flowwall::testing
