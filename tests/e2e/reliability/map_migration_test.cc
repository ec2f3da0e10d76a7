// SPDX-License-Identifier: Apache-2.0
// Map layout versions: a pinned map of an older layout is converted into the current map
// when a migration is registered for it, dropped when none is, and a newer one (left by a
// newer build before a downgrade) is left alone. The older maps here are made by the test
// the way an older build would have pinned them.
#include "src/common/unique_fd.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "tests/support/require_root.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

namespace flowwall::testing {
namespace {

using datapath::FirewallObject;
using datapath::FirewallOptions;
using datapath::MapMigration;

// fw_policy_v0, as the test imagines an older build had it: port and protocol in one word.
struct PolicyKeyV0 {
    uint32_t src_identity;
    uint32_t dst_identity;
    uint32_t port_protocol; // port << 8 | protocol
};

MapMigration policy_from_v0() {
    return {.family = "fw_policy",
            .from_version = 0,
            .convert = [](std::span<const uint8_t> key, std::span<const uint8_t> value)
                -> std::optional<std::pair<MapMigration::Bytes, MapMigration::Bytes>> {
                PolicyKeyV0 old{};
                std::memcpy(&old, key.data(), sizeof(old));
                if (old.src_identity == 0)
                    return std::nullopt; // an entry the new layout has no room for
                fw_policy_key converted =
                    datapath::policy_key(old.src_identity, old.dst_identity,
                                         static_cast<uint16_t>(old.port_protocol >> 8),
                                         static_cast<uint8_t>(old.port_protocol & 0xff));
                MapMigration::Bytes new_key(sizeof(converted)),
                    new_value(value.begin(), value.end());
                std::memcpy(new_key.data(), &converted, sizeof(converted));
                return std::pair{new_key, new_value};
            }};
}

class MapMigrationTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("loads BPF programs and pins maps");
        pin_dir_ = "/sys/fs/bpf/flowwall-test-migrate-" + std::to_string(::getpid());
        ASSERT_TRUE(datapath::remove_pin_tree(pin_dir_));
        ASSERT_TRUE(datapath::ensure_bpffs_dir(pin_dir_));
    }
    void TearDown() override {
        if (!pin_dir_.empty()) {
            EXPECT_TRUE(datapath::remove_pin_tree(pin_dir_));
        }
    }

    // Pins a fresh hash map with these entries under pin_dir_/name.
    void pin_older_map(const char* name, uint32_t key_size, uint32_t value_size,
                       const std::vector<std::pair<std::vector<uint8_t>, uint32_t>>& entries) {
        UniqueFd fd(::bpf_map_create(BPF_MAP_TYPE_HASH, name, key_size, value_size, 64, nullptr));
        ASSERT_TRUE(fd.valid()) << name;
        for (const auto& [key, value] : entries)
            ASSERT_EQ(::bpf_map_update_elem(fd.get(), key.data(), &value, BPF_ANY), 0);
        ASSERT_TRUE(datapath::pin_object(fd.get(), pin_dir_ / name));
    }

    static std::vector<uint8_t> v0_key(uint32_t src, uint32_t dst, uint16_t port,
                                       uint8_t protocol) {
        PolicyKeyV0 key{src, dst, uint32_t{port} << 8 | protocol};
        std::vector<uint8_t> bytes(sizeof(key));
        std::memcpy(bytes.data(), &key, sizeof(key));
        return bytes;
    }

    std::unique_ptr<FirewallObject> load(std::vector<MapMigration> migrations) {
        FirewallOptions options;
        options.pin_dir = pin_dir_;
        options.migrations = std::move(migrations);
        return FirewallObject::load(options).value_or_throw();
    }

    std::filesystem::path pin_dir_;
};

TEST(MapVersionTest, NamesSplitIntoFamilyAndVersion) {
    EXPECT_EQ(datapath::split_map_version("fw_policy_v1"), std::pair(std::string("fw_policy"), 1u));
    EXPECT_EQ(datapath::split_map_version("fw_ct4_v12"), std::pair(std::string("fw_ct4"), 12u));
    EXPECT_EQ(datapath::split_map_version("fw_policy"), std::nullopt);
    EXPECT_EQ(datapath::split_map_version("fw_policy_v"), std::nullopt);
    EXPECT_EQ(datapath::split_map_version("fw_policy_vx"), std::nullopt);
}

TEST_F(MapMigrationTest, OlderMapsAreConvertedOrDroppedAndNewerOnesLeftAlone) {
    // What this build's daemon left: one flow an operator allowed.
    ASSERT_TRUE(load({})->maps().policy.update(datapath::policy_key(300, 301, 80, 6),
                                               fw_policy_value{.flags = FW_POLICY_F_MANUAL}));

    pin_older_map("fw_policy_v0", sizeof(PolicyKeyV0), 4,
                  {{v0_key(300, 301, 80, 6), FW_POLICY_F_LEARNED},
                   {v0_key(300, 302, 443, 6), FW_POLICY_F_LEARNED},
                   {v0_key(302, 300, 53, 17), FW_POLICY_F_MANUAL},
                   {v0_key(0, 300, 22, 6), FW_POLICY_F_LEARNED}});
    pin_older_map("fw_dedup_v0", 4, 4, {{{1, 0, 0, 0}, 7}});  // no migration: dropped
    pin_older_map("fw_policy_v2", 4, 4, {{{1, 0, 0, 0}, 7}}); // newer: not ours to touch

    auto object = load({policy_from_v0()});
    auto policy = object->maps().policy;
    EXPECT_EQ(policy.entries().size(), 3u);
    EXPECT_EQ(policy.lookup(datapath::policy_key(300, 301, 80, 6))->flags, FW_POLICY_F_MANUAL)
        << "an entry the current map has wins over the older one";
    EXPECT_EQ(policy.lookup(datapath::policy_key(300, 302, 443, 6))->flags, FW_POLICY_F_LEARNED);
    EXPECT_EQ(policy.lookup(datapath::policy_key(302, 300, 53, 17))->flags, FW_POLICY_F_MANUAL);
    EXPECT_FALSE(std::filesystem::exists(pin_dir_ / "fw_policy_v0"));
    EXPECT_FALSE(std::filesystem::exists(pin_dir_ / "fw_dedup_v0"));
    EXPECT_TRUE(std::filesystem::exists(pin_dir_ / "fw_policy_v2"));
    EXPECT_TRUE(std::filesystem::exists(pin_dir_ / FW_MAP_POLICY));
}

TEST_F(MapMigrationTest, AFailedConversionKeepsTheOlderMapAndFailsTheLoad) {
    load({});
    pin_older_map("fw_policy_v0", sizeof(PolicyKeyV0), 4, {{v0_key(300, 301, 80, 6), 1}});
    MapMigration wrong = policy_from_v0();
    wrong.convert = [](std::span<const uint8_t>, std::span<const uint8_t>) {
        return std::optional(std::pair{MapMigration::Bytes(3), MapMigration::Bytes(4)});
    };
    FirewallOptions options;
    options.pin_dir = pin_dir_;
    options.migrations = {wrong};
    auto loaded = FirewallObject::load(options);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("fw_policy_v0"), std::string::npos)
        << loaded.error().message;
    EXPECT_TRUE(std::filesystem::exists(pin_dir_ / "fw_policy_v0"))
        << "kept for the next attempt: nothing is lost silently";
    // The migration that works still finds it.
    load({policy_from_v0()});
    EXPECT_FALSE(std::filesystem::exists(pin_dir_ / "fw_policy_v0"));
}

} // namespace
} // namespace flowwall::testing
