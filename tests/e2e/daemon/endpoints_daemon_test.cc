// SPDX-License-Identifier: Apache-2.0
// flowwalld with the endpoints file on a namespace lab (no Docker): workloads appear with
// their identities, their addresses go into the ipcache, their interfaces get the programs
// (on their veth peers in the hub namespace, which the daemon enters: out of the workloads'
// reach); file edits, bad files, restarts, SIGTERM and --cleanup behave as documented.
#include "src/api/control_client.h"
#include "src/datapath/netlink_filters.h"
#include "src/datapath/tc_attachment.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>

#include <fstream>

namespace flowwall::testing {
namespace {

using nlohmann::json;

const json* find_by(const json& array, const std::string& field, const std::string& value) {
    for (const auto& item : array)
        if (item.at(field) == value)
            return &item;
    return nullptr;
}

// On the workload's veth peer in the hub namespace, where the daemon guards it.
size_t programs_on(const Workload& w, datapath::TcHook hook) {
    auto ids = datapath::tcx_program_ids({w.hub_netns_path, w.hub_ifname}, hook);
    return ids ? ids.value().size() : 0;
}

// The value of an unlabelled sample in the daemon's /metrics, or -1.
double metric(const DaemonProcess& daemon, const std::string& name) {
    auto [status, text] = daemon.web_get("/metrics");
    if (status != 200)
        return -1;
    auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

class EndpointsDaemonTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs into network namespaces");
        lab_ = std::make_unique<Lab>();
        web_ = &lab_->add_workload("web");
        db_ = &lab_->add_workload("db");
        spare_ = &lab_->add_workload("spare");
    }

    std::unique_ptr<Lab> lab_;
    const Workload* web_ = nullptr;
    const Workload* db_ = nullptr;
    const Workload* spare_ = nullptr;
    std::filesystem::path file_;
};

TEST_F(EndpointsDaemonTest, WorkloadsGetIdentitiesIpcacheEntriesAndPrograms) {
    file_ = std::filesystem::temp_directory_path() / ("fw-endpoints-" + lab_->prefix() + ".json");
    write_endpoints(file_, json::array({endpoint_entry("web-1", "web", *web_),
                                        endpoint_entry("db-1", "db", *db_)}));
    DaemonProcess daemon({"--docker", "false", "--endpoints-file", file_.string()});
    daemon.start();

    ASSERT_TRUE(eventually([&] { return daemon.cli_json({"endpoints"}).size() == 2; }));
    const json endpoints = daemon.cli_json({"endpoints"});
    const json* web = find_by(endpoints, "name", "web-1");
    ASSERT_NE(web, nullptr) << endpoints.dump(2);
    EXPECT_EQ(web->at("identity"), "web");
    EXPECT_EQ(web->at("addresses"), json({web_->v4.str(), web_->v6.str()}));
    ASSERT_TRUE(eventually([&] {
        const json now = daemon.cli_json({"endpoints"});
        const json* entry = find_by(now, "name", "web-1");
        return entry && entry->at("interfaces").size() == 1 &&
               entry->at("interfaces")[0].at("attached") == true;
    }));
    const json web_now = *find_by(daemon.cli_json({"endpoints"}), "name", "web-1");
    EXPECT_EQ(web_now.at("interfaces")[0].at("placement"), "netns-peer")
        << "the lab's veth peers are in the hub namespace (under /run/netns): guarded there";
    EXPECT_EQ(web_now.at("interfaces")[0].at("device"), web_->hub_ifname) << web_now.dump();
    EXPECT_EQ(datapath::tcx_program_ids({web_->netns_path, web_->ifname}, datapath::TcHook::egress)
                  .value()
                  .size(),
              0u)
        << "nothing inside the workload's namespace";
    EXPECT_EQ(programs_on(*web_, datapath::TcHook::ingress), 1u);
    EXPECT_EQ(programs_on(*web_, datapath::TcHook::egress), 1u);

    // The web endpoint: healthy once the file is loaded; metrics Prometheus accepts.
    auto [health_status, health] = daemon.web_get("/healthz");
    EXPECT_EQ(health_status, 200) << health;
    EXPECT_EQ(metric(daemon, "flowwall_workloads"), 2);
    auto [metrics_status, metrics] = daemon.web_get("/metrics");
    ASSERT_EQ(metrics_status, 200);
    auto metrics_file = daemon.dir() / "metrics.txt";
    std::ofstream(metrics_file) << metrics;
    ExecResult checked =
        Lab::exec("", {"sh", "-c", "promtool check metrics < " + metrics_file.string()});
    EXPECT_TRUE(checked.ok()) << checked.out << checked.err;

    uint32_t web_id = identity_id(daemon, "web");
    uint32_t db_id = identity_id(daemon, "db");
    EXPECT_GE(web_id, uint32_t{FW_ID_FIRST_ALLOCATED});
    EXPECT_NE(web_id, db_id);
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), web_->v4.str()), web_id);
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), web_->v6.str()), web_id);
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), db_->v4.str()), db_id);

    // The default mode is learn: traffic between the workloads flows.
    TcpServer db_server(db_->netns_path, db_->v4);
    EXPECT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok());

    // db goes away and its address is handed to a workload of another identity: the address
    // maps to the new identity, never the stale one.
    json reused = endpoint_entry("cache-1", "cache", *spare_);
    reused["addresses"] = {db_->v4.str()};
    write_endpoints(file_, json::array({endpoint_entry("web-1", "web", *web_), reused}));
    ASSERT_TRUE(eventually([&] {
        auto id = pinned_ipcache_identity(daemon.pin_dir(), db_->v4.str());
        return id && *id != db_id && *id >= FW_ID_FIRST_ALLOCATED;
    })) << daemon.log();
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), db_->v4.str()),
              identity_id(daemon, "cache"));
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), db_->v6.str()), std::nullopt)
        << "an address no workload claims any more leaves the ipcache";
    EXPECT_EQ(programs_on(*db_, datapath::TcHook::ingress), 0u) << "db's programs are detached";

    // A broken file: the source says why, and the last good set stays.
    std::ofstream(file_) << "{\"endpoints\": [ {\"name\": ";
    ASSERT_TRUE(eventually([&] {
        const json status = daemon.cli_json({"status"});
        const json* source = find_by(status.at("sources"), "name", "endpoints-file");
        return source && source->at("state") == "unavailable";
    }));
    const json status = daemon.cli_json({"status"});
    const json* source = find_by(status.at("sources"), "name", "endpoints-file");
    EXPECT_NE(source->at("message").get<std::string>().find(file_.string()), std::string::npos)
        << source->dump();
    EXPECT_EQ(daemon.cli_json({"endpoints"}).size(), 2u);
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), web_->v4.str()), web_id);

    const ExecResult human = daemon.cli({"endpoints"});
    EXPECT_TRUE(human.ok());
    EXPECT_NE(human.out.find("web-1"), std::string::npos) << human.out;
    std::filesystem::remove(file_);
}

TEST_F(EndpointsDaemonTest, SigtermLeavesEnforcementAndRestartAdoptsIt) {
    file_ = std::filesystem::temp_directory_path() / ("fw-endpoints-" + lab_->prefix() + ".json");
    write_endpoints(file_, json::array({endpoint_entry("web-1", "web", *web_),
                                        endpoint_entry("db-1", "db", *db_)}));
    // No learning at all: each identity moves to block as soon as it is seen.
    DaemonProcess daemon({"--docker", "false", "--endpoints-file", file_.string(),
                          "--learning-period", "0s", "--after-learning", "block"});
    daemon.start();
    TcpServer db_server(db_->netns_path, db_->v4);
    ASSERT_TRUE(eventually([&] { return programs_on(*web_, datapath::TcHook::egress) == 1; }));
    ASSERT_TRUE(eventually([&] {
        const json identities = daemon.cli_json({"identities"});
        const json* web = find_by(identities, "name", "web");
        const json* db = find_by(identities, "name", "db");
        return web && db && web->at("mode") == "block" && db->at("mode") == "block";
    }));
    uint32_t web_id = identity_id(daemon, "web");
    double blocked_before = metric(daemon, "flowwall_connections_blocked_total");
    EXPECT_FALSE(tcp_connect(web_->netns_path, db_->v4, db_server.port()).connected)
        << "block mode with an empty model refuses the connection";
    EXPECT_GT(metric(daemon, "flowwall_connections_blocked_total"), blocked_before)
        << "the blocked-connection counter counts it";

    // The attempt is a blocked edge of the graph, and the graph renders with Graphviz.
    ASSERT_TRUE(eventually([&] {
        ExecResult radar = daemon.cli({"radar", "--format", "json"});
        if (!radar.ok())
            return false;
        const json graph = json::parse(radar.out);
        for (const auto& edge : graph.at("edges"))
            if (edge.at("source") == "web" && edge.at("target") == "db" &&
                edge.at("state") == "blocked")
                return true;
        return false;
    }));
    auto png = daemon.dir() / "radar.png";
    ExecResult rendered =
        Lab::exec("", {"sh", "-c",
                       DaemonProcess::flowwall_path() + " --socket " + daemon.socket() +
                           " radar --format dot | dot -Tpng -o " + png.string()});
    EXPECT_TRUE(rendered.ok()) << rendered.err;
    std::ifstream image(png, std::ios::binary);
    char magic[4] = {};
    image.read(magic, 4);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG") << "dot wrote a PNG";

    EXPECT_EQ(daemon.stop(SIGTERM), 0);
    EXPECT_EQ(programs_on(*web_, datapath::TcHook::egress), 1u) << "still attached after exit";
    EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), web_->v4.str()), web_id);
    EXPECT_FALSE(tcp_connect(web_->netns_path, db_->v4, db_server.port()).connected)
        << "enforcement goes on while no daemon runs";

    daemon.start();
    ASSERT_TRUE(eventually([&] { return daemon.cli_json({"status"}).at("synced") == true; }));
    EXPECT_EQ(identity_id(daemon, "web"), web_id) << "ids are stable across restarts";
    EXPECT_EQ(programs_on(*web_, datapath::TcHook::egress), 1u)
        << "the restarted daemon adopts the pinned link instead of adding a second one";

    EXPECT_EQ(daemon.stop(SIGTERM), 0);
    ExecResult cleaned = daemon.cleanup();
    EXPECT_TRUE(cleaned.ok()) << cleaned.err;
    EXPECT_EQ(programs_on(*web_, datapath::TcHook::egress), 0u);
    EXPECT_FALSE(std::filesystem::exists(daemon.pin_dir()));
    EXPECT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_server.port(), kAllowTimeout).ok())
        << "after --cleanup nothing of flowwall judges traffic";
    std::filesystem::remove(file_);
}

TEST_F(EndpointsDaemonTest, AnUnreachableDockerIsReportedWhileTheFileIsServed) {
    file_ = std::filesystem::temp_directory_path() / ("fw-endpoints-" + lab_->prefix() + ".json");
    write_endpoints(file_, json::array({endpoint_entry("web-1", "web", *web_)}));
    std::string missing_socket = "/run/flowwall-test-no-docker-" + lab_->prefix() + ".sock";
    DaemonProcess daemon({"--docker-socket", missing_socket, "--endpoints-file", file_.string()});
    daemon.start();
    ASSERT_TRUE(eventually([&] { return daemon.cli_json({"endpoints"}).size() == 1; }));
    ASSERT_TRUE(eventually([&] {
        const json now = daemon.cli_json({"status"});
        const json* docker = find_by(now.at("sources"), "name", "docker");
        return docker && docker->at("state") == "unavailable" && docker->at("errors") >= 1;
    }));
    const json status = daemon.cli_json({"status"});
    const json* docker = find_by(status.at("sources"), "name", "docker");
    EXPECT_NE(docker->at("message").get<std::string>().find(missing_socket), std::string::npos)
        << docker->dump();
    EXPECT_EQ(status.at("synced"), false);
    auto [health_status, health] = daemon.web_get("/healthz");
    EXPECT_EQ(health_status, 503);
    EXPECT_NE(health.find("source docker is unavailable"), std::string::npos) << health;
    EXPECT_TRUE(eventually([&] {
        return pinned_ipcache_identity(daemon.pin_dir(), web_->v4.str()) ==
               identity_id(daemon, "web");
    }));
    std::filesystem::remove(file_);
}

TEST_F(EndpointsDaemonTest, CleanupRemovesClsactFilters) {
    file_ = std::filesystem::temp_directory_path() / ("fw-endpoints-" + lab_->prefix() + ".json");
    write_endpoints(file_, json::array({endpoint_entry("web-1", "web", *web_)}));
    DaemonProcess daemon(
        {"--docker", "false", "--endpoints-file", file_.string(), "--attach-mode", "clsact"});
    daemon.start();
    auto filter_on_web = [&] {
        bool present = false;
        Lab::run_in_netns(web_->hub_netns_path, [&] {
            auto found = datapath::flowwall_filter_present(web_->hub_ifindex,
                                                           datapath::kClsactIngressParent);
            present = found && found.value();
        });
        return present;
    };
    ASSERT_TRUE(eventually(filter_on_web)) << daemon.log();
    EXPECT_EQ(daemon.stop(SIGTERM), 0);
    EXPECT_TRUE(filter_on_web()) << "the filter outlives the daemon";
    ExecResult cleaned = daemon.cleanup();
    EXPECT_TRUE(cleaned.ok()) << cleaned.err;
    EXPECT_NE(cleaned.err.find("2 tc filters removed"), std::string::npos) // ingress + egress
        << cleaned.err;
    EXPECT_FALSE(filter_on_web());
    std::filesystem::remove(file_);
}

TEST_F(EndpointsDaemonTest, CliSaysWhenTheDaemonIsNotRunning) {
    DaemonProcess daemon({"--docker", "false"});
    ExecResult result = daemon.cli({"status"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("not running"), std::string::npos) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "one line";
}

// The CLI checks what it sends; the API must say the same to any other client.
TEST_F(EndpointsDaemonTest, ApiRefusesFieldsOfTheWrongTypeAndSaysWhich) {
    DaemonProcess daemon({"--docker", "false"});
    daemon.start();
    api::ControlClient client(daemon.socket());
    struct Case {
        const char* path;
        nlohmann::json body;
        const char* message;
    };
    const Case cases[] = {
        {"/v1/mode", {{"mode", 5}}, "\"mode\" must be a string, not number"},
        {"/v1/mode",
         {{"mode", "block"}, {"identity", true}},
         "\"identity\" must be a string, not boolean"},
        {"/v1/learn",
         {{"identity", nlohmann::json::array()}},
         "\"identity\" must be a string, not array"},
        {"/v1/model/allow",
         {{"src", 1}, {"dst", "db"}, {"port", 5432}, {"protocol", "tcp"}},
         "\"src\" must be a string, not number"},
        {"/v1/model/remove",
         {{"src", "web"}, {"dst", "db"}, {"port", 5432}, {"protocol", nullptr}},
         "\"protocol\" must be a string, not null"},
    };
    for (const auto& bad : cases) {
        auto answer = client.request("POST", bad.path, &bad.body);
        ASSERT_TRUE(answer.ok()) << answer.error().message;
        EXPECT_EQ(answer.value().status, 400) << bad.path << " " << bad.body.dump();
        EXPECT_EQ(answer.value().body.at("error").value("message", ""), bad.message)
            << bad.path << " " << bad.body.dump() << " -> " << answer.value().body.dump();
    }
    // Nothing changed.
    EXPECT_EQ(daemon.cli_json({"mode"}).dump().find("block"), std::string::npos);
}

} // namespace
} // namespace flowwall::testing
