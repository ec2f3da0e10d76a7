// SPDX-License-Identifier: Apache-2.0
// --fail-mode, each documented behaviour (src/config/daemon_config.h):
//   - a guarded workload whose own address has no identity (listed without it, so its
//     interface gets the programs but its IPv4 address no ipcache entry) and whose interface
//     has no entry in fw_ifaces_v1 (issue 13: with one, the interface names the workload and
//     nothing is unidentified; without, e.g. before the daemon has written it, the old rule
//     holds): open judges it as `world`; closed drops its new connections, both ways, unless
//     the model allows `world`;
//   - identified workloads are judged the same in both modes;
//   - a workload with no programs yet is judged only at guarded peers, as `world`, in both;
//   - a source that cannot be reached (Docker) leaves the identities and links the last
//     daemon made in force, so closed mode does not cut the workloads it cannot list;
//   - status shows the mode.
#include "src/datapath/interface_map.h"
#include "src/datapath/netns.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/e2e/reliability/reliability_support.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kDeniedTimeout{300};

class FailModeTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs into network namespaces");
        lab_ = std::make_unique<Lab>();
        for (const char* name : {"web", "db", "ghost", "stranger"})
            lab_->add_workload(name);
        file_ =
            std::filesystem::temp_directory_path() / ("fw-endpoints-" + lab_->prefix() + ".json");
        db_server_ = std::make_unique<TcpServer>(w("db").netns_path, w("db").v4);
        ghost_server_ = std::make_unique<TcpServer>(w("ghost").netns_path, w("ghost").v4);
        // The hub is the outside world: no workload owns its address.
        world_server_ = std::make_unique<TcpServer>(lab_->hub_netns_path(), lab_->gateway_v4());
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove(file_, ignored);
    }

    const Workload& w(const std::string& name) const { return lab_->workload(name); }

    // web and db fully listed; ghost with its IPv6 address only (its IPv4 address is then
    // unidentified on a guarded interface); stranger not at all (no programs).
    void write_lab_endpoints() {
        json ghost = endpoint_entry("ghost-1", "ghost", w("ghost"));
        ghost["addresses"] = {w("ghost").v6.str()};
        write_endpoints(file_, json::array({endpoint_entry("web-1", "web", w("web")),
                                            endpoint_entry("db-1", "db", w("db")), ghost}));
    }

    std::unique_ptr<DaemonProcess> start_daemon(const std::string& fail_mode,
                                                std::vector<std::string> more = {}) {
        std::vector<std::string> args{
            "--fail-mode",      fail_mode, "--endpoints-file",  file_.string(),
            "--default-mode",   "block",   "--learning-period", "0s",
            "--after-learning", "block"};
        if (more.empty())
            more = {"--docker", "false"};
        args.insert(args.end(), more.begin(), more.end());
        auto daemon = std::make_unique<DaemonProcess>(args);
        daemon->start();
        EXPECT_TRUE(
            daemon
                ->cli({"model", "allow", "web", "db", std::to_string(db_server_->port()) + "/tcp"})
                .ok());
        EXPECT_TRUE(eventually(
            [&] {
                return daemon->cli_json({"status"}).at("datapath").at("interfaces_guarded") == 3;
            },
            milliseconds(10000)));
        forget_ghost_interface(*daemon);
        return daemon;
    }

    // Takes ghost's entry out of the pinned interface map (hash and slot), once the daemon has
    // written it: its interface then names no workload, which is the case under test. The
    // daemon writes an entry again only when what it reads for ghost changes.
    void forget_ghost_interface(const DaemonProcess& daemon) {
        // Keyed by ghost's veth peer in the hub, where the daemon guards it.
        const datapath::InterfaceKey key{
            datapath::netns_cookie_of(w("ghost").hub_netns_path).value(),
            static_cast<uint32_t>(w("ghost").hub_ifindex)};
        auto hash = datapath::open_pinned_object(daemon.pin_dir() / FW_MAP_IFACES);
        auto slots = datapath::open_pinned_object(daemon.pin_dir() / FW_MAP_IFSLOTS);
        ASSERT_TRUE(hash && slots);
        datapath::InterfaceMap map(
            datapath::TypedMap<fw_iface_key, fw_iface_info>(hash.value().get(), FW_MAP_IFACES, 0),
            datapath::TypedMap<uint32_t, fw_iface_slot>(slots.value().get(), FW_MAP_IFSLOTS, 0));
        ASSERT_TRUE(eventually([&] { return map.lookup(key).has_value(); }));
        ASSERT_TRUE(map.erase(key));
    }

    bool connects(const Workload& from, const Address& to, uint16_t port) {
        return tcp_connect(from.netns_path, to, port, kDeniedTimeout).connected;
    }
    bool connects_from_world(const Address& to, uint16_t port) {
        return tcp_connect(lab_->hub_netns_path(), to, port, kDeniedTimeout).connected;
    }

    // What both modes do alike: identified workloads by their modes and the model; a
    // workload without programs judged only where it meets a guarded one, as world.
    void expect_common_behaviour(DaemonProcess& daemon) {
        EXPECT_TRUE(connects(w("web"), w("db").v4, db_server_->port())) << "in the model";
        EXPECT_FALSE(connects(w("web"), lab_->gateway_v4(), world_server_->port()))
            << "web blocks what is not in its model";
        EXPECT_TRUE(connects(w("stranger"), lab_->gateway_v4(), world_server_->port()))
            << "nothing runs on an interface without programs";
        EXPECT_FALSE(connects(w("stranger"), w("db").v4, db_server_->port()))
            << "at db's hook the stranger is world, and db blocks";
        EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), w("ghost").v4.str()), std::nullopt)
            << "ghost's IPv4 address is not listed, so it has no identity";
    }

    std::unique_ptr<Lab> lab_;
    std::filesystem::path file_;
    std::unique_ptr<TcpServer> db_server_, ghost_server_, world_server_;
};

TEST_F(FailModeTest, OpenJudgesAnUnidentifiedWorkloadAsWorld) {
    write_lab_endpoints();
    auto daemon = start_daemon("open");
    EXPECT_EQ(daemon->cli_json({"status"}).at("datapath").at("fail_mode"), "open");
    EXPECT_NE(daemon->cli({"status"}).out.find("fail open"), std::string::npos);
    expect_common_behaviour(*daemon);

    EXPECT_EQ(programs_on(w("ghost"), false), 1u) << "ghost's interface is guarded";
    EXPECT_TRUE(connects(w("ghost"), lab_->gateway_v4(), world_server_->port()))
        << "world -> world: no workload takes part";
    EXPECT_TRUE(connects_from_world(w("ghost").v4, ghost_server_->port()));
    EXPECT_FALSE(connects(w("ghost"), w("db").v4, db_server_->port()))
        << "world -> db: db's block mode decides";
    ASSERT_TRUE(daemon->cli({"mode", "alert", "--identity", "db"}).ok());
    EXPECT_TRUE(connects(w("ghost"), w("db").v4, db_server_->port()))
        << "world -> db with db in alert: passes, reported";
}

TEST_F(FailModeTest, ClosedDropsAnUnidentifiedWorkloadUnlessTheModelAllowsWorld) {
    write_lab_endpoints();
    auto daemon = start_daemon("closed");
    EXPECT_EQ(daemon->cli_json({"status"}).at("datapath").at("fail_mode"), "closed");
    EXPECT_NE(daemon->cli({"status"}).out.find("fail closed"), std::string::npos);
    expect_common_behaviour(*daemon);

    EXPECT_EQ(programs_on(w("ghost"), false), 1u) << "ghost's interface is guarded";
    EXPECT_FALSE(connects(w("ghost"), lab_->gateway_v4(), world_server_->port()))
        << "leaving an unidentified workload";
    EXPECT_FALSE(connects_from_world(w("ghost").v4, ghost_server_->port()))
        << "entering an unidentified workload";
    // Counted and reported as what they are, not as ordinary blocks.
    const std::string metrics = daemon->web_get("/metrics").second;
    EXPECT_NE(metrics.find("flowwall_packets_total{verdict=\"drop\",reason=\"fail_closed\"} "),
              std::string::npos);
    EXPECT_EQ(metrics.find("flowwall_packets_total{verdict=\"drop\",reason=\"fail_closed\"} 0\n"),
              std::string::npos)
        << "no fail_closed drop counted";
    ASSERT_TRUE(daemon->cli({"mode", "alert", "--identity", "db"}).ok());
    EXPECT_FALSE(connects(w("ghost"), w("db").v4, db_server_->port()))
        << "dropped even where the peer's mode would let world through";
    EXPECT_TRUE(connects(w("stranger"), w("db").v4, db_server_->port()))
        << "an address met at a guarded peer is plain world: db's alert mode passes it";
    ASSERT_TRUE(
        daemon->cli({"model", "allow", "world", "db", std::to_string(db_server_->port()) + "/tcp"})
            .ok());
    EXPECT_TRUE(connects(w("ghost"), w("db").v4, db_server_->port()))
        << "the model allows world -> db, so an unidentified workload may too";

    // Once its address is listed, ghost is judged by its own identity (block, no flows).
    json entries = json::array({endpoint_entry("web-1", "web", w("web")),
                                endpoint_entry("db-1", "db", w("db")),
                                endpoint_entry("ghost-1", "ghost", w("ghost"))});
    write_endpoints(file_, entries);
    ASSERT_TRUE(eventually([&] {
        return pinned_ipcache_identity(daemon->pin_dir(), w("ghost").v4.str()).has_value();
    }));
    EXPECT_FALSE(connects(w("ghost"), w("db").v4, db_server_->port()))
        << "ghost -> db is not in the model and ghost blocks";
    ASSERT_TRUE(
        daemon->cli({"model", "allow", "ghost", "db", std::to_string(db_server_->port()) + "/tcp"})
            .ok());
    EXPECT_TRUE(connects(w("ghost"), w("db").v4, db_server_->port()));
}

TEST_F(FailModeTest, AnUnreachableRuntimeLeavesTheLastIdentitiesInForce) {
    write_lab_endpoints();
    std::string missing = "/run/flowwall-test-no-docker-" + lab_->prefix() + ".sock";
    auto daemon = start_daemon("closed", {"--docker-socket", missing});
    const auto db_id = identity_id(*daemon, "db");
    ASSERT_TRUE(connects(w("web"), w("db").v4, db_server_->port()));

    // db goes from every source that answers while the daemon is down (as if only Docker,
    // which does not answer, knew it), and comes back as a daemon that cannot list Docker.
    daemon->stop(SIGKILL);
    write_endpoints(file_, json::array({endpoint_entry("web-1", "web", w("web"))}));
    daemon->start();
    ASSERT_TRUE(eventually([&] { return daemon->cli_json({"endpoints"}).size() == 1; }));
    const json status = daemon->cli_json({"status"});
    EXPECT_EQ(status.at("synced"), false);
    EXPECT_EQ(pinned_ipcache_identity(daemon->pin_dir(), w("db").v4.str()), db_id)
        << "not removed while a source has not listed";
    EXPECT_EQ(programs_on(w("db"), true), 1u) << "db's link is kept";
    EXPECT_TRUE(connects(w("web"), w("db").v4, db_server_->port()))
        << "db keeps its identity, so fail-closed does not cut it";
    EXPECT_FALSE(connects(w("ghost"), w("db").v4, db_server_->port()));
}

} // namespace
} // namespace flowwall::testing
