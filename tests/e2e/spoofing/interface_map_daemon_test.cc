// SPDX-License-Identifier: Apache-2.0
// flowwalld fills fw_ifaces_v1 (issue 13): for every guard point, the key is the cookie of the
// namespace the programs run in and the ifindex of the interface they sit on; the value is the
// workload's identity, the MAC of its interface and every address it owns, read from its
// namespace (link-local included). Entries follow address changes and go with the workload;
// link-local addresses are in the ipcache too. Both kinds of veth peer: host-side (the Docker
// bridge copy, the daemon in the bridge namespace) and in another namespace (the routed lab's
// hub, found under /run/netns, as a Swarm overlay's is under /run/docker/netns).
#include "src/datapath/bpffs.h"
#include "src/datapath/interface_map.h"
#include "src/datapath/netns.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/e2e/spoofing/spoofing_scene.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace flowwall::testing {
namespace {

using nlohmann::json;

std::optional<datapath::InterfaceWorkload> pinned_interface(const DaemonProcess& daemon,
                                                            const datapath::InterfaceKey& key) {
    // The hash holds every entry (fw_ifslots_v1 is its fast path).
    auto fd = datapath::open_pinned_object(daemon.pin_dir() / FW_MAP_IFACES);
    if (!fd)
        return std::nullopt;
    datapath::TypedMap<fw_iface_key, fw_iface_info> map(fd.value().get(), FW_MAP_IFACES, 0);
    auto value = map.lookup(datapath::iface_key_of(key));
    if (!value)
        return std::nullopt;
    return datapath::interface_workload_of(*value);
}

bool holds(const datapath::InterfaceWorkload& entry, const Address& address) {
    auto parsed = IpAddress::parse(address.str()).value();
    return std::find(entry.addresses.begin(), entry.addresses.end(), parsed) !=
           entry.addresses.end();
}

TEST(InterfaceMapDaemon, HostPeersOfTheDockerBridgeCopyCarryTheirWorkloads) {
    FLOWWALL_REQUIRE_ROOT("creates namespaces and a bridge and runs flowwalld");
    SpoofingScene scene;
    scene.start_daemon();
    DaemonProcess& daemon = scene.daemon();
    const uint64_t bridge_cookie =
        datapath::netns_cookie_of(scene.lab().bridge_netns_path()).value();

    for (const Workload* w : {&scene.web(), &scene.api(), &scene.db(), &scene.intruder()}) {
        SCOPED_TRACE(w->name);
        const datapath::InterfaceKey key{bridge_cookie, static_cast<uint32_t>(w->hub_ifindex)};
        std::optional<datapath::InterfaceWorkload> entry;
        ASSERT_TRUE(eventually([&] { return (entry = pinned_interface(daemon, key)).has_value(); }))
            << "no entry for the peer " << w->hub_ifname;
        EXPECT_EQ(entry->identity, identity_id(daemon, w->name));
        ASSERT_TRUE(entry->mac.has_value());
        EXPECT_EQ(*entry->mac, w->mac) << "the workload's MAC, not the peer's";
        EXPECT_TRUE(holds(*entry, w->v4));
        EXPECT_TRUE(holds(*entry, w->v6));
        EXPECT_TRUE(holds(*entry, w->link_local));
        EXPECT_EQ(pinned_ipcache_identity(daemon.pin_dir(), w->link_local.str()),
                  identity_id(daemon, w->name))
            << "link-local addresses are the workload's in the ipcache";
    }

    const json map_status = daemon.cli_json({"status"}).at("datapath").at("interface_map");
    EXPECT_EQ(map_status.at("entries"), 4) << map_status.dump();
    EXPECT_TRUE(map_status.at("error").is_null()) << map_status.dump();

    // Addresses web adds to its own eth0 (it could, with CAP_NET_ADMIN): a link-local one that
    // nobody owns is its own within a reconcile or two; a neighbour's address or any other
    // address its runtime did not report never becomes one it may send from. The read that
    // brought the link-local address saw the others too.
    const Workload& web = scene.web();
    const datapath::InterfaceKey web_key{bridge_cookie, static_cast<uint32_t>(web.hub_ifindex)};
    const Address extra = scene.lab().subnet_v4(77);
    const Address extra_link_local = Address::v6("fe80::77");
    const Address neighbours = scene.db().v4;
    ip(web, {"addr", "add", extra.str() + "/24", "dev", "eth0"});
    ip(web, {"addr", "add", neighbours.str() + "/32", "dev", "eth0"});
    ip(web, {"-6", "addr", "add", extra_link_local.str() + "/64", "dev", "eth0", "nodad"});
    EXPECT_TRUE(
        eventually([&] { return holds(*pinned_interface(daemon, web_key), extra_link_local); },
                   std::chrono::seconds(6)));
    EXPECT_FALSE(holds(*pinned_interface(daemon, web_key), extra));
    EXPECT_FALSE(holds(*pinned_interface(daemon, web_key), neighbours));
    ip(web, {"-6", "addr", "del", extra_link_local.str() + "/64", "dev", "eth0"});
    EXPECT_TRUE(
        eventually([&] { return !holds(*pinned_interface(daemon, web_key), extra_link_local); },
                   std::chrono::seconds(6)));
    ip(web, {"addr", "del", extra.str() + "/24", "dev", "eth0"});
    ip(web, {"addr", "del", neighbours.str() + "/32", "dev", "eth0"});
}

TEST(InterfaceMapDaemon, PeersInAnotherNamespaceAreKeyedByThatNamespaceAndGoWithTheirWorkload) {
    FLOWWALL_REQUIRE_ROOT("creates namespaces and runs flowwalld");
    Lab lab;
    const Workload& web = lab.add_workload("web");
    const Workload& db = lab.add_workload("db");
    const auto file =
        std::filesystem::temp_directory_path() / ("fw-ifaces-" + lab.prefix() + ".json");
    write_endpoints(
        file, json::array({endpoint_entry("web-1", "web", web), endpoint_entry("db-1", "db", db)}));
    DaemonProcess daemon({"--docker", "false", "--endpoints-file", file.string()});
    daemon.start();
    // The peer's namespace and ifindex: the hub's, not db's own.
    const datapath::InterfaceKey db_key{datapath::netns_cookie_of(db.hub_netns_path).value(),
                                        static_cast<uint32_t>(db.hub_ifindex)};
    std::optional<datapath::InterfaceWorkload> entry;
    ASSERT_TRUE(eventually([&] { return (entry = pinned_interface(daemon, db_key)).has_value(); }))
        << daemon.log();
    EXPECT_EQ(entry->identity, identity_id(daemon, "db"));
    EXPECT_EQ(*entry->mac, interface_mac(db.netns_path, db.ifname));
    EXPECT_TRUE(holds(*entry, db.v4));
    EXPECT_TRUE(holds(*entry, db.v6));
    EXPECT_TRUE(holds(*entry, interface_link_local(db.netns_path, db.ifname)));
    EXPECT_FALSE(pinned_interface(daemon, {datapath::netns_cookie_of(db.netns_path).value(),
                                           static_cast<uint32_t>(db.ifindex)})
                     .has_value())
        << "nothing runs on db's own eth0, so nothing is keyed for it";

    write_endpoints(file, json::array({endpoint_entry("web-1", "web", web)}));
    EXPECT_TRUE(eventually([&] { return !pinned_interface(daemon, db_key).has_value(); }))
        << "db's entry goes with db";
    std::filesystem::remove(file);
}

} // namespace
} // namespace flowwall::testing
