// SPDX-License-Identifier: Apache-2.0
// Maps pinned by name are reused by the next load, so a restarted daemon sees the model and
// the connections the last one left; a pinned map with another layout is refused with a
// message that says what to do.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>

#include "src/common/unique_fd.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "tests/support/require_root.h"

namespace flowwall::datapath {
namespace {

class Pinning : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("pins BPF maps under /sys/fs/bpf");
        dir_ = "/sys/fs/bpf/flowwall-pin-test-" + std::to_string(::getpid());
        ASSERT_TRUE(ensure_bpffs_dir(dir_).ok());
        options_.pin_dir = dir_;
    }
    void TearDown() override {
        if (!dir_.empty()) {
            EXPECT_TRUE(remove_pin_tree(dir_).ok());
        }
    }

    std::filesystem::path dir_;
    FirewallOptions options_;
};

TEST_F(Pinning, SecondLoadReusesThePinnedMaps) {
    const fw_policy_key flow = policy_key(300, 301, 443, IPPROTO_TCP);
    {
        auto first = FirewallObject::load(options_);
        ASSERT_TRUE(first.ok()) << first.error().to_string();
        ASSERT_TRUE(first.value()->maps().policy.update(flow, {FW_POLICY_F_LEARNED}).ok());
    } // the first object is gone; its maps live on in bpffs
    for (const char* name : {FW_MAP_POLICY, FW_MAP_CT4, FW_MAP_EVENTS, FW_MAP_STATS})
        EXPECT_TRUE(std::filesystem::exists(dir_ / name)) << name;
    EXPECT_TRUE(std::filesystem::exists(dir_ / "programs" / FW_PROG_FROM_WORKLOAD));

    auto second = FirewallObject::load(options_);
    ASSERT_TRUE(second.ok()) << second.error().to_string();
    auto kept = second.value()->maps().policy.lookup(flow);
    ASSERT_TRUE(kept.has_value());
    EXPECT_EQ(kept->flags, static_cast<uint32_t>(FW_POLICY_F_LEARNED));

    ASSERT_TRUE(second.value()->unpin().ok());
    EXPECT_FALSE(std::filesystem::exists(dir_ / FW_MAP_POLICY));
}

TEST_F(Pinning, PinnedMapWithAnotherLayoutIsRefusedClearly) {
    // What an older build with a different fw_policy_v1 value would have left behind.
    UniqueFd stale(
        bpf_map_create(BPF_MAP_TYPE_HASH, "fw_policy_v1", sizeof(fw_policy_key), 8, 16, nullptr));
    ASSERT_TRUE(stale.valid());
    ASSERT_EQ(bpf_obj_pin(stale.get(), (dir_ / FW_MAP_POLICY).c_str()), 0);

    auto loaded = FirewallObject::load(options_);
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.error().message.find("another layout"), std::string::npos)
        << loaded.error().to_string();
}

} // namespace
} // namespace flowwall::datapath
