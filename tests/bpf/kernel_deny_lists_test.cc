// SPDX-License-Identifier: Apache-2.0
// The daemon's side of the deny lists against the real kernel: the list registry
// (src/denylist) writes through KernelDenyLists into DenySets over a loaded prefilter, and
// the XDP program's verdicts follow. Lists that name the same prefix are merged (the lowest
// id per direction), deleting one hands its prefixes to the next, big changes are swapped in
// and small ones edited, and protected addresses a deny prefix covers join the allow set (and
// leave it again), so they pass.
#include "src/daemon/kernel_deny_lists.h"
#include "src/datapath/deny_sets.h"
#include "src/datapath/prefilter_object.h"
#include "src/datapath/test_run.h"
#include "src/denylist/deny_lists.h"
#include "tests/support/packet_builder.h"
#include "tests/support/require_root.h"
#include "tests/support/temp_dir.h"

#include <linux/bpf.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace flowwall::testing {
namespace {

using nlohmann::json;

IpPrefix prefix(const char* text) {
    return IpPrefix::parse(text).value();
}

class KernelDenyListsTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("loads the prefilter XDP program");
        auto loaded = datapath::PrefilterObject::load({});
        ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
        prefilter_ = std::move(loaded).value();
        sets_ = std::make_unique<datapath::DenySets>(
            std::vector<datapath::DenyMaps>{prefilter_->maps().deny});
        kernel_ = std::make_unique<daemon::KernelDenyLists>(
            *sets_, std::vector<IpPrefix>{prefix("198.19.90.0/24")});
        denylist::DenyListsOptions options;
        options.state_dir = dir_.path();
        options.protected_prefixes = [this] { return kernel_->protected_prefixes(); };
        auto lists = denylist::DenyLists::open(options, *kernel_);
        ASSERT_TRUE(lists.ok()) << lists.error().message;
        lists_ = std::move(lists.value());
    }

    uint32_t from(const char* source) {
        auto frame = PacketBuilder::udp(Address::v4(source), 1, Address::v4("198.18.77.1"), 2);
        auto result = datapath::test_run(prefilter_->program_fd(), frame.build());
        EXPECT_TRUE(result.ok()) << result.error().to_string();
        return result.ok() ? result.value().retval : 0xffffffff;
    }

    uint32_t create(json spec) {
        auto created = lists_->create(spec);
        EXPECT_TRUE(created.ok()) << created.error().message;
        return created.ok() ? created.value().at("id").get<uint32_t>() : 0;
    }

    bool allowed(const char* text) {
        auto allow = sets_->allow();
        return std::find(allow.begin(), allow.end(), prefix(text)) != allow.end();
    }

    TempDir dir_;
    std::unique_ptr<datapath::PrefilterObject> prefilter_;
    std::unique_ptr<datapath::DenySets> sets_;
    std::unique_ptr<daemon::KernelDenyLists> kernel_;
    std::unique_ptr<denylist::DenyLists> lists_;
};

TEST_F(KernelDenyListsTest, ListsNamingOnePrefixMergeByDirectionAndLowestId) {
    uint32_t a = create({{"name", "a"}, {"prefixes", {"198.19.66.0/24", "198.19.70.1"}}});
    uint32_t b =
        create({{"name", "b"}, {"direction", "outbound"}, {"prefixes", {"198.19.66.0/24"}}});
    uint32_t c = create({{"name", "c"}, {"direction", "both"}, {"prefixes", {"198.19.66.0/24"}}});
    auto entry = sets_->lookup(prefix("198.19.66.0/24"));
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->inbound, a);
    EXPECT_EQ(entry->outbound, b);
    EXPECT_EQ(from("198.19.66.9"), uint32_t{XDP_DROP});
    EXPECT_EQ(from("198.19.67.9"), uint32_t{XDP_PASS});

    ASSERT_TRUE(lists_->erase("a").ok());
    entry = sets_->lookup(prefix("198.19.66.0/24"));
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->inbound, c) << "c takes over what a named";
    EXPECT_FALSE(sets_->lookup(prefix("198.19.70.1/32"))) << "only a named it";
    EXPECT_EQ(from("198.19.70.1"), uint32_t{XDP_PASS});
    EXPECT_EQ(from("198.19.66.9"), uint32_t{XDP_DROP});
    ASSERT_TRUE(lists_->erase("c").ok());
    EXPECT_EQ(from("198.19.66.9"), uint32_t{XDP_PASS}) << "b is outbound only";
    auto view = lists_->list_view("b", 1).value();
    EXPECT_TRUE(view.at("in_force").get<bool>());
}

TEST_F(KernelDenyListsTest, BigListsAreSwappedInAndSmallEditsFollow) {
    std::string text;
    for (int i = 0; i < 6000; ++i)
        text += "198.19." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "\n";
    uint32_t big = create({{"name", "big"}, {"text", text}});
    EXPECT_EQ(sets_->size(), 6000u);
    EXPECT_EQ(from("198.19.23.249"), uint32_t{XDP_DROP});
    ASSERT_TRUE(lists_->remove("big", {"198.19.23.249"}).ok());
    EXPECT_EQ(sets_->size(), 5999u);
    EXPECT_EQ(from("198.19.23.249"), uint32_t{XDP_PASS});
    EXPECT_EQ(from("198.19.23.248"), uint32_t{XDP_DROP});
    EXPECT_GE(kernel_->counters(big).packets, 0u);
    EXPECT_GT(kernel_->kernel_memory_bytes(), 0u);
}

TEST_F(KernelDenyListsTest, ProtectedAddressesACoverWinAndAllowListsToo) {
    EXPECT_TRUE(allowed("198.19.90.0/24")) << "the configured allow prefixes";
    kernel_->set_protected({prefix("198.19.66.5/32"), prefix("198.19.80.5/32")});
    EXPECT_FALSE(allowed("198.19.66.5/32")) << "no deny prefix covers it yet";
    auto created =
        lists_->create({{"name", "level1"}, {"prefixes", {"198.19.66.0/24", "198.19.90.0/23"}}});
    ASSERT_TRUE(created.ok());
    EXPECT_EQ(
        created.value().at("covers_protected"),
        json({"198.19.66.0/24 covers 198.19.66.5/32", "198.19.90.0/23 covers 198.19.90.0/24"}));
    EXPECT_TRUE(allowed("198.19.66.5/32"));
    EXPECT_FALSE(allowed("198.19.80.5/32")) << "only covered addresses take room";
    EXPECT_EQ(from("198.19.66.5"), uint32_t{XDP_PASS});
    EXPECT_EQ(from("198.19.66.6"), uint32_t{XDP_DROP});
    EXPECT_EQ(from("198.19.90.7"), uint32_t{XDP_PASS});
    EXPECT_EQ(from("198.19.91.7"), uint32_t{XDP_DROP});

    // The workload goes away: its address leaves the allow set.
    kernel_->set_protected({});
    EXPECT_FALSE(allowed("198.19.66.5/32"));
    EXPECT_EQ(from("198.19.66.5"), uint32_t{XDP_DROP});

    // An allow list wins over every deny list.
    ASSERT_TRUE(
        lists_->create({{"name", "mgmt"}, {"role", "allow"}, {"prefixes", {"198.19.66.128/25"}}})
            .ok());
    EXPECT_EQ(from("198.19.66.200"), uint32_t{XDP_PASS});
    EXPECT_EQ(from("198.19.66.6"), uint32_t{XDP_DROP});
    ASSERT_TRUE(lists_->erase("mgmt").ok());
    EXPECT_EQ(from("198.19.66.200"), uint32_t{XDP_DROP});
}

} // namespace
} // namespace flowwall::testing
