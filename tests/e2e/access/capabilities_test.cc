// SPDX-License-Identifier: Apache-2.0
// flowwalld after start-up holds only the capabilities it uses (CAP_BPF, CAP_NET_ADMIN,
// CAP_SYS_ADMIN, CAP_PERFMON, CAP_SYS_PTRACE), in every thread, with nothing inheritable or
// ambient, a bounding set no larger and no_new_privs set; and with only those it still does
// its runtime work: attaching to a workload that appears later, writing maps and state.
#include "tests/e2e/access/access_support.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <sys/capability.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using CapabilityNames = std::set<std::string>;

const CapabilityNames kRuntimeSet{"cap_bpf", "cap_net_admin", "cap_sys_admin", "cap_perfmon",
                                  "cap_sys_ptrace"};

// libcap's names ("cap_net_admin"), as capsh and getpcaps print them; bits libcap does not
// know come out as numbers.
CapabilityNames names_of(std::uint64_t mask) {
    CapabilityNames names;
    for (int bit = 0; bit < 64; ++bit) {
        if (((mask >> bit) & 1U) == 0)
            continue;
        char* name = cap_to_name(bit);
        names.insert(name ? name : std::to_string(bit));
        cap_free(name);
    }
    return names;
}

// The "Key:\tvalue" lines of a /proc/.../status file.
std::map<std::string, std::string> status_fields(const std::filesystem::path& status) {
    std::map<std::string, std::string> fields;
    std::ifstream in(status);
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        auto value = line.find_first_not_of(" \t", colon + 1);
        fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
    }
    return fields;
}

CapabilityNames capabilities(const std::map<std::string, std::string>& fields,
                             const std::string& key) {
    auto found = fields.find(key);
    if (found == fields.end())
        throw std::runtime_error("no " + key + " line in /proc status");
    return names_of(std::stoull(found->second, nullptr, 16));
}

std::string joined(const CapabilityNames& names) {
    std::string text;
    for (const auto& name : names)
        text += (text.empty() ? "" : " ") + name;
    return text.empty() ? "none" : text;
}

// "CapEff of ...: has cap_chown cap_kill, lacks cap_bpf": the difference, not two long lists.
::testing::AssertionResult same_set(const std::map<std::string, std::string>& fields,
                                    const std::string& key, const CapabilityNames& expected) {
    CapabilityNames actual = capabilities(fields, key);
    if (actual == expected)
        return ::testing::AssertionSuccess();
    CapabilityNames extra;
    CapabilityNames missing;
    std::ranges::set_difference(actual, expected, std::inserter(extra, extra.end()));
    std::ranges::set_difference(expected, actual, std::inserter(missing, missing.end()));
    return ::testing::AssertionFailure() << key << " has " << joined(extra) << " beyond, and lacks "
                                         << joined(missing) << " of, {" << joined(expected) << "}";
}

// The five sets and no_new_privs of one thread, each compared by name.
void expect_runtime_set(const std::filesystem::path& status, const CapabilityNames& expected) {
    auto fields = status_fields(status);
    ASSERT_FALSE(fields.empty()) << "cannot read " << status;
    const std::string where = status.string() + " (" + fields["Name"] + ")";
    EXPECT_TRUE(same_set(fields, "CapEff", expected)) << where;
    EXPECT_TRUE(same_set(fields, "CapPrm", expected)) << where;
    EXPECT_TRUE(same_set(fields, "CapBnd", expected)) << where;
    EXPECT_TRUE(same_set(fields, "CapInh", {})) << where;
    EXPECT_TRUE(same_set(fields, "CapAmb", {})) << where;
    EXPECT_EQ(fields["NoNewPrivs"], "1") << "NoNewPrivs of " << where;
}

bool attached(const DaemonProcess& daemon, const std::string& name) {
    for (const auto& entry : daemon.cli_json({"endpoints"}))
        if (entry.at("name") == name && entry.at("interfaces").size() == 1 &&
            entry.at("interfaces")[0].at("attached") == true)
            return true;
    return false;
}

TEST(DaemonCapabilitiesTest, EveryThreadKeepsOnlyTheRuntimeSetAndStillWorks) {
    FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs");
    // A root execve() is given its parent's bounding set: the daemon can keep only those of
    // the runtime set this test process has (CAP_SYS_PTRACE, say, may be missing in a
    // container), and it must keep all of those.
    CapabilityNames expected;
    for (const auto& name : capabilities(status_fields("/proc/self/status"), "CapBnd"))
        if (kRuntimeSet.contains(name))
            expected.insert(name);
    for (const char* needed : {"cap_bpf", "cap_net_admin", "cap_sys_admin"})
        ASSERT_TRUE(expected.contains(needed)) << "the test itself lacks " << needed;

    Lab lab;
    const Workload& late = lab.add_workload("late");
    auto endpoints = lab.prefix() + "-endpoints.json";
    auto endpoints_file = std::filesystem::temp_directory_path() / endpoints;
    RemovedAtEnd remove_endpoints{endpoints_file};
    write_endpoints(endpoints_file, json::array());

    DaemonProcess daemon({"--docker", "false", "--endpoints-file", endpoints_file.string()});
    daemon.start();

    expect_runtime_set(std::filesystem::path("/proc") / std::to_string(daemon.pid()) / "status",
                       expected);
    // Each thread has its own sets: a thread started before the drop would have kept all.
    std::size_t threads = 0;
    auto tasks = std::filesystem::path("/proc") / std::to_string(daemon.pid()) / "task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
        if (!::testing::Test::HasFailure()) // one thread's report says it
            expect_runtime_set(task.path() / "status", expected);
        ++threads;
    }
    EXPECT_GT(threads, 3u) << "the control API, agent, event pump and source run on threads";

    std::string log = daemon.log();
    auto kept = log.find("info: capabilities: keeping only ");
    ASSERT_NE(kept, std::string::npos) << log;
    std::string kept_line = log.substr(kept, log.find('\n', kept) - kept);
    for (const auto& name : expected)
        EXPECT_NE(kept_line.find(name), std::string::npos) << kept_line;

    // What the daemon does for the rest of its life, with only these: enter a workload's
    // namespace and attach to a workload that appears now, pin its links, write the modes
    // map and save the state files.
    write_endpoints(endpoints_file, json::array({{{"name", "late-1"},
                                                  {"identity", "late"},
                                                  {"netns", late.netns_path},
                                                  {"addresses", {late.v4.str()}}}}));
    EXPECT_TRUE(eventually([&] { return attached(daemon, "late-1"); }, std::chrono::seconds(10)))
        << daemon.cli_json({"endpoints"}).dump(2);
    ExecResult mode = daemon.cli({"mode", "block", "--identity", "late"});
    EXPECT_TRUE(mode.ok()) << mode.err;
    EXPECT_EQ(daemon.stop(), 0);
    EXPECT_TRUE(std::filesystem::exists(daemon.dir() / "state" / "learning.json"));
    EXPECT_EQ(log_lines_at(daemon, 0, {"error", "critical"}), std::vector<std::string>{});
}

} // namespace
} // namespace flowwall::testing
