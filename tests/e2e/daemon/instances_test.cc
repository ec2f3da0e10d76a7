// SPDX-License-Identifier: Apache-2.0
// Several flowwalld on one kernel (the cluster lab, a host that runs two instances): each
// instance's --cleanup removes only what it attached, and an instance whose bpffs would be
// private to its mount namespace (`ip netns exec` remounts /sys) refuses to start, since its
// pins, and enforcement with them, would not outlive it.
#include "src/datapath/bpffs.h"
#include "src/datapath/netlink_filters.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>

namespace flowwall::testing {
namespace {

using nlohmann::json;

// On the workload's veth peer in the hub namespace, where the daemon guards it.
bool filter_on(const Workload& w, uint32_t parent) {
    bool present = false;
    Lab::run_in_netns(w.hub_netns_path, [&] {
        auto found = datapath::flowwall_filter_present(w.hub_ifindex, parent);
        present = found && found.value();
    });
    return present;
}

bool both_filters_on(const Workload& w) {
    return filter_on(w, datapath::kClsactIngressParent) &&
           filter_on(w, datapath::kClsactEgressParent);
}

class InstancesTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs into network namespaces");
        lab_ = std::make_unique<Lab>();
        web_ = &lab_->add_workload("web");
        db_ = &lab_->add_workload("db");
    }
    void TearDown() override {
        for (const auto& file : files_)
            std::filesystem::remove(file);
    }
    std::filesystem::path endpoints_file(const std::string& tag, const json& entries) {
        auto path = std::filesystem::temp_directory_path() /
                    ("fw-endpoints-" + lab_->prefix() + "-" + tag + ".json");
        write_endpoints(path, entries);
        files_.push_back(path);
        return path;
    }

    std::unique_ptr<Lab> lab_;
    const Workload* web_ = nullptr;
    const Workload* db_ = nullptr;
    std::vector<std::filesystem::path> files_;
};

TEST_F(InstancesTest, CleanupRemovesOnlyTheFiltersOfItsOwnInstance) {
    auto first_file = endpoints_file("first", json::array({endpoint_entry("web-1", "web", *web_)}));
    auto second_file = endpoints_file("second", json::array({endpoint_entry("db-1", "db", *db_)}));
    DaemonProcess first(
        {"--docker", "false", "--endpoints-file", first_file.string(), "--attach-mode", "clsact"});
    DaemonProcess second(
        {"--docker", "false", "--endpoints-file", second_file.string(), "--attach-mode", "clsact"});
    first.start();
    second.start();
    ASSERT_TRUE(eventually([&] { return both_filters_on(*web_); })) << first.log();
    ASSERT_TRUE(eventually([&] { return both_filters_on(*db_); })) << second.log();

    EXPECT_EQ(first.stop(SIGTERM), 0);
    ExecResult cleaned = first.cleanup();
    EXPECT_TRUE(cleaned.ok()) << cleaned.err;
    EXPECT_NE(cleaned.err.find("2 tc filters removed"), std::string::npos) << cleaned.err;
    EXPECT_FALSE(filter_on(*web_, datapath::kClsactIngressParent));
    EXPECT_FALSE(filter_on(*web_, datapath::kClsactEgressParent));
    EXPECT_TRUE(both_filters_on(*db_)) << "the other instance's workload stays guarded";
    EXPECT_TRUE(second.running());

    // The other instance's own cleanup (its destructor runs it too) takes its filters off.
    EXPECT_EQ(second.stop(SIGTERM), 0);
    ExecResult second_cleaned = second.cleanup();
    EXPECT_TRUE(second_cleaned.ok()) << second_cleaned.err;
    EXPECT_FALSE(filter_on(*db_, datapath::kClsactIngressParent));
}

TEST_F(InstancesTest, AReleasedWorkloadLeavesNoRecordBehind) {
    auto file = endpoints_file("release", json::array({endpoint_entry("web-1", "web", *web_),
                                                       endpoint_entry("db-1", "db", *db_)}));
    DaemonProcess daemon(
        {"--docker", "false", "--endpoints-file", file.string(), "--attach-mode", "clsact"});
    daemon.start();
    ASSERT_TRUE(eventually([&] { return both_filters_on(*web_) && both_filters_on(*db_); }));
    auto records = [&] {
        size_t count = 0;
        std::error_code ignored;
        for (const auto& entry :
             std::filesystem::directory_iterator(daemon.pin_dir() / "filters", ignored))
            count += entry.path().filename().string().starts_with("new-") ? 0 : 1;
        return count;
    };
    EXPECT_EQ(records(), 4u); // two workloads, ingress and egress
    write_endpoints(file, json::array({endpoint_entry("web-1", "web", *web_)}));
    ASSERT_TRUE(eventually([&] { return !filter_on(*db_, datapath::kClsactEgressParent); }));
    EXPECT_TRUE(eventually([&] { return records() == 2u; })) << daemon.log();
}

TEST_F(InstancesTest, UnderIpNetnsExecItRefusesAPrivateBpffsAndSaysHowToFixIt) {
    if (!datapath::is_bpffs(datapath::kBpffsMountPoint))
        GTEST_SKIP() << "the host has no bpffs at /sys/fs/bpf";
    auto file = endpoints_file("netns-exec", json::array({endpoint_entry("web-1", "web", *web_)}));
    DaemonProcess daemon({"--docker", "false", "--endpoints-file", file.string()});
    daemon.use_prefix({"ip", "netns", "exec", web_->netns});
    EXPECT_THROW(daemon.start(), std::runtime_error);
    std::string log = daemon.log();
    EXPECT_NE(log.find("not on bpffs"), std::string::npos) << log;
    EXPECT_NE(log.find("nsenter --net"), std::string::npos) << log;
    EXPECT_FALSE(std::filesystem::exists(daemon.pin_dir())) << "nothing pinned on the host";

    // Told otherwise, it starts (a throw-away lab), and its pins are not the host's.
    DaemonProcess allowed({"--docker", "false", "--endpoints-file", file.string(),
                           "--allow-private-bpffs", "true", "--web-listen", ""});
    allowed.use_prefix({"ip", "netns", "exec", web_->netns});
    allowed.start();
    EXPECT_NE(allowed.log().find("--allow-private-bpffs: starting anyway"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(allowed.pin_dir()))
        << "the pins went to a bpffs only that namespace sees";
}

} // namespace
} // namespace flowwall::testing
