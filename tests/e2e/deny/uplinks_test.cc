// SPDX-License-Identifier: Apache-2.0
// The daemon's Uplinks on a namespace lab's hub: the prefilter goes on each named interface
// through a pinned XDP link that outlives the object, and an interface that is no uplink any
// more loses it at the next start.
#include "src/daemon/uplinks.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/owned_link.h"
#include "src/datapath/prefilter_object.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace flowwall::testing {
namespace {

uint32_t xdp_ids(const Lab& lab, const Workload& workload) {
    auto ids = datapath::xdp_program_ids({lab.hub_netns_path(), workload.hub_ifname});
    EXPECT_TRUE(ids.ok()) << ids.error().to_string();
    return ids.ok() ? ids.value().native + ids.value().generic : 0;
}

TEST(Uplinks, AFormerUplinkLosesItsPrefilterAtTheNextStart) {
    FLOWWALL_REQUIRE_ROOT("attaches XDP programs in a namespace lab");
    Lab lab;
    const Workload& a = lab.add_workload("a");
    const Workload& b = lab.add_workload("b");
    auto prefilter = datapath::PrefilterObject::load({});
    ASSERT_TRUE(prefilter.ok()) << prefilter.error().to_string();
    std::filesystem::path dir = "/sys/fs/bpf/flowwall-test-uplinks-" + std::to_string(::getpid());
    ASSERT_TRUE(datapath::ensure_bpffs_dir(dir).ok());
    // Removed even when an assertion ends the test early (the lab removes the interfaces).
    struct PinDir {
        std::filesystem::path path;
        ~PinDir() { (void)datapath::remove_pin_tree(path); }
    } pins{dir};
    int fd = prefilter.value()->program_fd();

    Lab::run_in_netns(lab.hub_netns_path(), [&] {
        daemon::Uplinks first({a.hub_ifname, b.hub_ifname}, fd, datapath::XdpMode::automatic, dir);
        ASSERT_EQ(first.problems().size(), 0u);
    });
    EXPECT_NE(xdp_ids(lab, a), 0u) << "kept attached when the object goes";
    EXPECT_NE(xdp_ids(lab, b), 0u);

    Lab::run_in_netns(lab.hub_netns_path(), [&] {
        daemon::Uplinks second({a.hub_ifname}, fd, datapath::XdpMode::automatic, dir);
        ASSERT_EQ(second.view().size(), 1u);
    });
    EXPECT_NE(xdp_ids(lab, a), 0u) << "adopted";
    EXPECT_EQ(xdp_ids(lab, b), 0u) << "no uplink any more";
    // What flowwalld --cleanup does for uplinks/.
    EXPECT_TRUE(datapath::detach_pinned_link(dir / ("host-" + a.hub_ifname + "-xdp")).ok());
    EXPECT_EQ(xdp_ids(lab, a), 0u);
}

} // namespace
} // namespace flowwall::testing
