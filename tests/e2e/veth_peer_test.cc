// SPDX-License-Identifier: Apache-2.0
// datapath::find_veth_peer on a namespace lab: where the far end of a workload's eth0 is, so
// that the daemon guards it there (the workload can neither detach nor skip a hook on it). The
// lab's peers are in its hub namespace, mounted under /run/netns like a Swarm overlay's under
// /run/docker/netns; seen from a daemon inside the hub they are in its own namespace.
#include "src/datapath/interfaces.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using datapath::find_veth_peer;
using datapath::VethPeer;

class VethPeerTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("creates network namespaces");
        lab_ = std::make_unique<Lab>();
        web_ = &lab_->add_workload("web");
    }
    std::unique_ptr<Lab> lab_;
    const Workload* web_ = nullptr;
};

TEST_F(VethPeerTest, APeerInAMountedNamespaceIsFoundThere) {
    auto peer = find_veth_peer(web_->netns_path, "eth0", {"/run/netns"});
    ASSERT_TRUE(peer) << peer.error().to_string();
    ASSERT_TRUE(peer.value().has_value());
    EXPECT_EQ(peer.value()->netns_path, lab_->hub_netns_path());
    EXPECT_EQ(peer.value()->name, web_->hub_ifname);
    EXPECT_EQ(peer.value()->ifindex, web_->hub_ifindex);

    // A directory that does not exist holds nothing; the peer then has no path.
    auto unknown = find_veth_peer(web_->netns_path, "eth0", {"/run/flowwall-no-such-dir"});
    ASSERT_TRUE(unknown) << unknown.error().to_string();
    EXPECT_FALSE(unknown.value().has_value());
}

TEST_F(VethPeerTest, APeerInTheCallersOwnNamespaceComesFirst) {
    std::optional<VethPeer> found;
    Lab::run_in_netns(lab_->hub_netns_path(), [&] {
        auto peer = find_veth_peer(web_->netns_path, "eth0", {"/run/netns"});
        ASSERT_TRUE(peer) << peer.error().to_string();
        found = peer.value();
    });
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->netns_path, "") << "the hub is the caller's own namespace";
    EXPECT_EQ(found->name, web_->hub_ifname);
}

TEST_F(VethPeerTest, NoPeerForAnInterfaceThatIsNoVethOrHasBothEndsInside) {
    // (No dummy driver in every kernel: loopback is the interface that is no veth.)
    ASSERT_TRUE(Lab::exec("", {"ip", "-n", web_->netns, "link", "add", "fwin0", "type", "veth",
                               "peer", "name", "fwin1"})
                    .ok());
    for (const char* name : {"lo", "fwin0"}) {
        auto peer = find_veth_peer(web_->netns_path, name, {"/run/netns"});
        ASSERT_TRUE(peer) << name << ": " << peer.error().to_string();
        EXPECT_FALSE(peer.value().has_value()) << name;
    }
    auto missing = find_veth_peer(web_->netns_path, "nosuch0", {"/run/netns"});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("nosuch0"), std::string::npos)
        << missing.error().to_string();
}

} // namespace
} // namespace flowwall::testing
