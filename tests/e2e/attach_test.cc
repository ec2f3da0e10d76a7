// SPDX-License-Identifier: Apache-2.0
// Attaching, replacing and detaching TC (tcx and clsact) and XDP programs on real veth pairs,
// in the host namespace and in other namespaces, checked by their effect on traffic and by
// what the kernel reports; plus bpffs handling, feature probes and error messages.
//
// Topology, all names starting with fwat<pid> (addresses from 198.18.0.0/15 only):
//   netns fwat<pid>a: fwat<pid>a0 198.18.200.1/24 <-veth-> netns fwat<pid>b: fwat<pid>b0 .2/24
//   host: fwat<pid>h 198.18.201.1/30 <-veth-> netns fwat<pid>a: fwat<pid>p 198.18.201.2/30
#include "src/common/unique_fd.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/detach_failures.h"
#include "src/datapath/kernel_features.h"
#include "src/datapath/netlink_filters.h"
#include "src/datapath/netns.h"
#include "src/datapath/object_loading.h"
#include "src/datapath/tc_attachment.h"
#include "src/datapath/xdp_attachment.h"
#include "tests/support/require_root.h"

#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace flowwall::datapath {
namespace {

constexpr std::string_view kPrefix = "fwat";
constexpr int32_t kTcPass = -1; // TC_ACT_UNSPEC: on to the next program, then pass
constexpr int32_t kTcDrop = 2;  // TC_ACT_SHOT
constexpr int32_t kXdpDrop = 1;
constexpr int32_t kXdpPass = 2;
const std::string kOurFilter = "pref " + std::to_string(kFlowwallTcPriority);

struct ShellResult {
    int exit_code = -1;
    std::string output;
};

ShellResult shell(const std::string& command) {
    ShellResult result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr)
        return result;
    char buffer[4096];
    size_t read = 0;
    while ((read = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
        result.output.append(buffer, read);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// The pid a lab object name carries ("fwat1234a" -> 1234), or 0 when it is not one of ours.
pid_t owner_pid(const std::string& name) {
    if (name.rfind(kPrefix, 0) != 0)
        return 0;
    size_t digits = name.find_first_not_of("0123456789", kPrefix.size());
    if (digits == kPrefix.size())
        return 0;
    return static_cast<pid_t>(std::stol(name.substr(kPrefix.size(), digits - kPrefix.size())));
}

bool is_stale(const std::string& name) {
    pid_t pid = owner_pid(name);
    return pid != 0 && pid != ::getpid() &&
           !std::filesystem::exists("/proc/" + std::to_string(pid));
}

// Leftovers of crashed runs; a parallel run's objects (its process alive) are left alone.
void remove_stale_lab_objects() {
    std::istringstream namespaces(shell("ip netns list").output);
    for (std::string line; std::getline(namespaces, line);) {
        std::string name = line.substr(0, line.find(' '));
        if (is_stale(name))
            shell("ip netns delete " + name);
    }
    std::istringstream links(shell("ip -o link show").output);
    for (std::string line; std::getline(links, line);) {
        size_t start = line.find(": ") + 2;
        std::string name = line.substr(start, line.find_first_of("@:", start) - start);
        if (is_stale(name))
            shell("ip link delete " + name);
    }
    for (const auto& entry : std::filesystem::directory_iterator(kBpffsMountPoint)) {
        std::string name = entry.path().filename().string();
        std::string pid = name.substr(name.find_last_of('-') + 1);
        if (name.rfind("flowwall-test-", 0) == 0 && !std::filesystem::exists("/proc/" + pid)) {
            EXPECT_TRUE(remove_pin_tree(entry.path()).ok());
        }
    }
}

UniqueFd load_program(bpf_prog_type type, int32_t verdict, const char* name) {
    const bpf_insn instructions[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, verdict}, // r0 = verdict
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                        // return r0
    };
    return UniqueFd(::bpf_prog_load(type, name, "GPL", instructions, 2, nullptr));
}

class AttachTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("attaches BPF programs");
        remove_stale_lab_objects();
        lab_created_ = true;
        for (const std::string& command : {
                 "ip netns add " + netns_a_,
                 "ip netns add " + netns_b_,
                 "ip -n " + netns_a_ + " link add " + if_a_ + " type veth peer name " + if_b_ +
                     " netns " + netns_b_,
                 "ip -n " + netns_a_ + " addr add 198.18.200.1/24 dev " + if_a_,
                 "ip -n " + netns_b_ + " addr add 198.18.200.2/24 dev " + if_b_,
                 "ip -n " + netns_a_ + " link set " + if_a_ + " up",
                 "ip -n " + netns_b_ + " link set " + if_b_ + " up",
                 "ip link add " + if_host_ + " type veth peer name " + if_peer_ + " netns " +
                     netns_a_,
                 "ip addr add 198.18.201.1/30 dev " + if_host_,
                 "ip -n " + netns_a_ + " addr add 198.18.201.2/30 dev " + if_peer_,
                 "ip link set " + if_host_ + " up",
                 "ip -n " + netns_a_ + " link set " + if_peer_ + " up",
             }) {
            ShellResult result = shell(command);
            ASSERT_EQ(result.exit_code, 0) << command << ": " << result.output;
        }
        tc_pass_ = load_program(BPF_PROG_TYPE_SCHED_CLS, kTcPass, "fw_test_pass");
        tc_drop_ = load_program(BPF_PROG_TYPE_SCHED_CLS, kTcDrop, "fw_test_drop");
        xdp_pass_ = load_program(BPF_PROG_TYPE_XDP, kXdpPass, "fw_test_xpass");
        xdp_drop_ = load_program(BPF_PROG_TYPE_XDP, kXdpDrop, "fw_test_xdrop");
        ASSERT_TRUE(tc_pass_.valid() && tc_drop_.valid() && xdp_pass_.valid() && xdp_drop_.valid())
            << "load test programs: " << std::strerror(errno);
        ASSERT_TRUE(reaches(netns_a_, "198.18.200.2")) << "lab broken before any attach";
    }

    void TearDown() override {
        if (!lab_created_)
            return;
        shell("ip netns delete " + netns_a_);
        shell("ip netns delete " + netns_b_);
        shell("ip link delete " + if_host_);
        EXPECT_TRUE(remove_pin_tree(pin_dir_).ok());
        EXPECT_TRUE(take_detach_failures().empty());
    }

    // A ping that should pass gets three tries (the first may wait for ARP after a drop); one
    // that should fail needs only one.
    static bool reaches(const std::string& netns, const std::string& address) {
        for (int attempt = 0; attempt < 3; ++attempt)
            if (shell("ip netns exec " + netns + " ping -c1 -W1 " + address).exit_code == 0)
                return true;
        return false;
    }
    static bool blocked(const std::string& netns, const std::string& address) {
        return shell("ip netns exec " + netns + " ping -c1 -W1 " + address).exit_code != 0;
    }

    std::string tc(const std::string& netns, const std::string& arguments) {
        return shell("ip netns exec " + netns + " tc " + arguments).output;
    }

    std::vector<uint32_t> tcx_ids(const InterfaceRef& iface, TcHook hook) {
        Result<std::vector<uint32_t>> ids = tcx_program_ids(iface, hook);
        EXPECT_TRUE(ids.ok()) << ids.error().to_string();
        return ids ? ids.value() : std::vector<uint32_t>{};
    }

    const std::string pid_ = std::to_string(::getpid());
    const std::string netns_a_ = std::string(kPrefix) + pid_ + "a";
    const std::string netns_b_ = std::string(kPrefix) + pid_ + "b";
    const std::string if_a_ = std::string(kPrefix) + pid_ + "a0";
    const std::string if_b_ = std::string(kPrefix) + pid_ + "b0";
    const std::string if_host_ = std::string(kPrefix) + pid_ + "h";
    const std::string if_peer_ = std::string(kPrefix) + pid_ + "p";
    const InterfaceRef iface_b_{"/run/netns/" + netns_b_, if_b_};
    const std::filesystem::path pin_dir_ = kBpffsMountPoint / ("flowwall-test-" + pid_);
    bool lab_created_ = false;
    UniqueFd tc_pass_, tc_drop_, xdp_pass_, xdp_drop_;
};

TEST_F(AttachTest, TcxInOtherNamespaceDropsAndDetachRestoresTraffic) {
    auto attached =
        TcAttachment::attach(iface_b_, TcHook::ingress, tc_drop_.get(), TcAttachMode::tcx);
    ASSERT_TRUE(attached.ok()) << attached.error().to_string();
    TcAttachment& attachment = attached.value();
    EXPECT_EQ(attachment.mode(), TcAttachMode::tcx);
    EXPECT_GE(attachment.link_fd(), 0);
    EXPECT_EQ(tcx_ids(iface_b_, TcHook::ingress), std::vector{program_id(tc_drop_.get())});
    EXPECT_TRUE(tcx_ids(iface_b_, TcHook::egress).empty());
    EXPECT_TRUE(blocked(netns_a_, "198.18.200.2"));

    ASSERT_TRUE(attachment.detach().ok());
    EXPECT_TRUE(tcx_ids(iface_b_, TcHook::ingress).empty());
    EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
}

TEST_F(AttachTest, TcxInHostNamespaceDropsEgressAndDestructorDetaches) {
    const InterfaceRef host_side{"", if_host_};
    ASSERT_TRUE(reaches(netns_a_, "198.18.201.1"));
    {
        // Egress of the host side: the ping gets in, its reply never gets out.
        auto attached = TcAttachment::attach(host_side, TcHook::egress, tc_drop_.get(),
                                             TcAttachMode::automatic);
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        EXPECT_EQ(attached.value().mode(), TcAttachMode::tcx) << "this kernel has tcx";
        EXPECT_EQ(tcx_ids(host_side, TcHook::egress), std::vector{program_id(tc_drop_.get())});
        EXPECT_TRUE(blocked(netns_a_, "198.18.201.1"));
    }
    EXPECT_TRUE(tcx_ids(host_side, TcHook::egress).empty());
    EXPECT_TRUE(reaches(netns_a_, "198.18.201.1"));
}

TEST_F(AttachTest, ClsactCreatesQdiscWhenAbsentAndRemovesItAfterLastDetach) {
    ASSERT_EQ(tc(netns_b_, "qdisc show dev " + if_b_).find("clsact"), std::string::npos);
    auto ingress =
        TcAttachment::attach(iface_b_, TcHook::ingress, tc_drop_.get(), TcAttachMode::clsact);
    ASSERT_TRUE(ingress.ok()) << ingress.error().to_string();
    auto egress =
        TcAttachment::attach(iface_b_, TcHook::egress, tc_pass_.get(), TcAttachMode::clsact);
    ASSERT_TRUE(egress.ok()) << egress.error().to_string();
    EXPECT_EQ(ingress.value().link_fd(), -1);
    EXPECT_NE(tc(netns_b_, "qdisc show dev " + if_b_).find("clsact"), std::string::npos);
    EXPECT_NE(tc(netns_b_, "filter show dev " + if_b_ + " ingress").find(kOurFilter + " bpf"),
              std::string::npos);
    EXPECT_TRUE(blocked(netns_a_, "198.18.200.2"));

    // The qdisc serves the egress filter still, although the ingress attachment created it.
    ASSERT_TRUE(ingress.value().detach().ok());
    EXPECT_NE(tc(netns_b_, "qdisc show dev " + if_b_).find("clsact"), std::string::npos);
    EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
    ASSERT_TRUE(egress.value().detach().ok());
    EXPECT_EQ(tc(netns_b_, "qdisc show dev " + if_b_).find("clsact"), std::string::npos);
}

TEST_F(AttachTest, ClsactDetachLeavesForeignQdiscAndFilter) {
    ASSERT_EQ(
        shell("ip netns exec " + netns_b_ + " tc qdisc add dev " + if_b_ + " clsact").exit_code, 0);
    ASSERT_EQ(shell("ip netns exec " + netns_b_ + " tc filter add dev " + if_b_ +
                    " ingress prio 1000 u32 match u32 0 0 flowid 1:1")
                  .exit_code,
              0);
    auto attached =
        TcAttachment::attach(iface_b_, TcHook::ingress, tc_drop_.get(), TcAttachMode::clsact);
    ASSERT_TRUE(attached.ok()) << attached.error().to_string();
    EXPECT_TRUE(blocked(netns_a_, "198.18.200.2")) << "flowwall's filter runs before pref 1000";

    ASSERT_TRUE(attached.value().detach().ok());
    std::string filters = tc(netns_b_, "filter show dev " + if_b_ + " ingress");
    EXPECT_NE(filters.find("pref 1000 u32"), std::string::npos) << filters;
    EXPECT_EQ(filters.find(kOurFilter), std::string::npos) << filters;
    EXPECT_NE(tc(netns_b_, "qdisc show dev " + if_b_).find("clsact"), std::string::npos);
    EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
}

TEST_F(AttachTest, PinnedTcxLinkOutlivesObjectAndFdsThenAdoptedAndDetached) {
    ASSERT_TRUE(ensure_bpffs_dir(pin_dir_).ok());
    const std::filesystem::path pin = pin_dir_ / "tcx_ingress";
    {
        UniqueFd drop = load_program(BPF_PROG_TYPE_SCHED_CLS, kTcDrop, "fw_test_drop");
        auto attached =
            TcAttachment::attach(iface_b_, TcHook::ingress, drop.get(), TcAttachMode::tcx, pin);
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        ASSERT_TRUE(attached.value().keep_on_exit().ok());
    } // attachment, link fd and program fd all closed here
    EXPECT_EQ(tcx_ids(iface_b_, TcHook::ingress).size(), 1U);
    EXPECT_TRUE(blocked(netns_a_, "198.18.200.2"));

    // A new daemon adopts the pinned link: switched, not doubled.
    auto adopted =
        TcAttachment::attach(iface_b_, TcHook::ingress, tc_pass_.get(), TcAttachMode::tcx, pin);
    ASSERT_TRUE(adopted.ok()) << adopted.error().to_string();
    EXPECT_EQ(tcx_ids(iface_b_, TcHook::ingress), std::vector{program_id(tc_pass_.get())});
    EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
    ASSERT_TRUE(adopted.value().detach().ok());
    EXPECT_TRUE(tcx_ids(iface_b_, TcHook::ingress).empty());
    EXPECT_FALSE(std::filesystem::exists(pin));
}

TEST_F(AttachTest, PinnedTcxLinkEndsWhenUnpinnedAfterTheProcessLetGo) {
    ASSERT_TRUE(ensure_bpffs_dir(pin_dir_).ok());
    {
        auto attached = TcAttachment::attach(iface_b_, TcHook::ingress, tc_drop_.get(),
                                             TcAttachMode::tcx, pin_dir_ / "tcx_ingress");
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        ASSERT_TRUE(attached.value().keep_on_exit().ok());
    }
    EXPECT_EQ(tcx_ids(iface_b_, TcHook::ingress).size(), 1U);
    ASSERT_TRUE(remove_pin_tree(pin_dir_).ok());
    // bpffs frees an unlinked inode, and so drops the link's last reference, only after an RCU
    // grace period: the link ends shortly after the unpin, not during it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!tcx_ids(iface_b_, TcHook::ingress).empty() &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(tcx_ids(iface_b_, TcHook::ingress).empty());
    EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
}

TEST_F(AttachTest, KeepOnExitRefusesAnUnpinnedLink) {
    auto attached =
        TcAttachment::attach(iface_b_, TcHook::ingress, tc_pass_.get(), TcAttachMode::tcx);
    ASSERT_TRUE(attached.ok()) << attached.error().to_string();
    Status kept = attached.value().keep_on_exit();
    ASSERT_FALSE(kept.ok());
    EXPECT_NE(kept.error().message.find("not pinned"), std::string::npos);
}

TEST_F(AttachTest, ReplaceProgramSwapsPassForDrop) {
    for (TcAttachMode mode : {TcAttachMode::tcx, TcAttachMode::clsact}) {
        SCOPED_TRACE(mode == TcAttachMode::tcx ? "tcx" : "clsact");
        auto attached = TcAttachment::attach(iface_b_, TcHook::ingress, tc_pass_.get(), mode);
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
        ASSERT_TRUE(attached.value().replace_program(tc_drop_.get()).ok());
        if (mode == TcAttachMode::tcx) {
            EXPECT_EQ(tcx_ids(iface_b_, TcHook::ingress), std::vector{program_id(tc_drop_.get())});
        }
        EXPECT_TRUE(blocked(netns_a_, "198.18.200.2"));
        ASSERT_TRUE(attached.value().detach().ok());
        EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
    }
}

TEST_F(AttachTest, DetachAfterInterfaceVanishedSucceeds) {
    auto tcx =
        TcAttachment::attach({"", if_host_}, TcHook::ingress, tc_pass_.get(), TcAttachMode::tcx);
    ASSERT_TRUE(tcx.ok()) << tcx.error().to_string();
    auto clsact =
        TcAttachment::attach(iface_b_, TcHook::ingress, tc_pass_.get(), TcAttachMode::clsact);
    ASSERT_TRUE(clsact.ok()) << clsact.error().to_string();
    ASSERT_EQ(shell("ip link delete " + if_host_).exit_code, 0);
    ASSERT_EQ(shell("ip netns delete " + netns_b_).exit_code, 0);
    Status tcx_detached = tcx.value().detach();
    EXPECT_TRUE(tcx_detached.ok()) << tcx_detached.error().to_string();
    Status clsact_detached = clsact.value().detach();
    EXPECT_TRUE(clsact_detached.ok()) << clsact_detached.error().to_string();
}

TEST_F(AttachTest, XdpAttachReplaceDetachInEachMode) {
    for (XdpMode mode : {XdpMode::generic, XdpMode::native, XdpMode::automatic}) {
        SCOPED_TRACE(static_cast<int>(mode));
        auto attached = XdpAttachment::attach(iface_b_, xdp_drop_.get(), mode);
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        XdpAttachment& attachment = attached.value();
        XdpMode expected = mode == XdpMode::generic ? XdpMode::generic : XdpMode::native;
        EXPECT_EQ(attachment.mode(), expected) << "veth has native XDP";
        Result<XdpProgramIds> ids = xdp_program_ids(iface_b_);
        ASSERT_TRUE(ids.ok()) << ids.error().to_string();
        uint32_t in_mode = expected == XdpMode::generic ? ids.value().generic : ids.value().native;
        EXPECT_EQ(in_mode, program_id(xdp_drop_.get()));
        EXPECT_TRUE(blocked(netns_a_, "198.18.200.2"));

        ASSERT_TRUE(attachment.replace_program(xdp_pass_.get()).ok());
        EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
        ASSERT_TRUE(attachment.detach().ok());
        ids = xdp_program_ids(iface_b_);
        ASSERT_TRUE(ids.ok()) << ids.error().to_string();
        EXPECT_EQ(ids.value().native + ids.value().generic, 0U);
    }
}

TEST_F(AttachTest, PinnedXdpLinkIsAdoptedByTheNextAttach) {
    ASSERT_TRUE(ensure_bpffs_dir(pin_dir_).ok());
    const std::filesystem::path pin = pin_dir_ / "xdp";
    {
        auto attached = XdpAttachment::attach(iface_b_, xdp_drop_.get(), XdpMode::generic, pin);
        ASSERT_TRUE(attached.ok()) << attached.error().to_string();
        ASSERT_TRUE(attached.value().keep_on_exit().ok());
    }
    EXPECT_TRUE(blocked(netns_a_, "198.18.200.2"));
    auto adopted = XdpAttachment::attach(iface_b_, xdp_pass_.get(), XdpMode::automatic, pin);
    ASSERT_TRUE(adopted.ok()) << adopted.error().to_string();
    EXPECT_EQ(adopted.value().mode(), XdpMode::generic);
    EXPECT_TRUE(reaches(netns_a_, "198.18.200.2"));
    ASSERT_TRUE(adopted.value().detach().ok());
    EXPECT_FALSE(std::filesystem::exists(pin));
}

TEST_F(AttachTest, BpffsDirIsCreatedAndPinTreeRemoved) {
    const std::filesystem::path nested = pin_dir_ / "maps" / "v1";
    ASSERT_TRUE(ensure_bpffs_dir(nested).ok());
    EXPECT_TRUE(std::filesystem::is_directory(nested));
    EXPECT_TRUE(is_bpffs(nested));
    EXPECT_EQ(std::filesystem::status(nested).permissions(), std::filesystem::perms::owner_all);
    ASSERT_TRUE(ensure_bpffs_dir(nested).ok()) << "idempotent";
    ASSERT_TRUE(pin_object(tc_pass_.get(), nested / "prog").ok());
    ASSERT_TRUE(pin_object(tc_drop_.get(), pin_dir_ / "prog").ok());
    Result<UniqueFd> opened = open_pinned_object(nested / "prog");
    ASSERT_TRUE(opened.ok() && opened.value().valid());
    EXPECT_EQ(program_id(opened.value().get()), program_id(tc_pass_.get()));

    ASSERT_TRUE(remove_pin_tree(pin_dir_).ok());
    EXPECT_FALSE(std::filesystem::exists(pin_dir_));
    EXPECT_TRUE(remove_pin_tree(pin_dir_).ok()) << "a missing dir is fine";
    Result<UniqueFd> missing = open_pinned_object(nested / "prog");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing.value().valid());
}

TEST_F(AttachTest, BpffsRefusesDirectoriesElsewhere) {
    char scratch_template[] = "/tmp/fwat-bpffs-XXXXXX";
    ASSERT_NE(::mkdtemp(scratch_template), nullptr);
    const std::filesystem::path scratch = scratch_template;
    std::ofstream(scratch / "precious") << "must survive";
    Status created = ensure_bpffs_dir(scratch / "pins");
    ASSERT_FALSE(created.ok());
    EXPECT_NE(created.error().message.find("not on a bpffs mount"), std::string::npos);
    Status removed = remove_pin_tree(scratch);
    ASSERT_FALSE(removed.ok());
    EXPECT_NE(removed.error().message.find("refusing"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(scratch / "precious"));
    std::filesystem::remove_all(scratch);
}

TEST_F(AttachTest, KernelFeaturesAreProbedAndSufficient) {
    KernelFeatures features = probe_kernel_features();
    EXPECT_EQ(features.probe_errno, 0);
    EXPECT_TRUE(features.bpf_syscall && features.btf && features.ringbuf && features.lpm_trie &&
                features.lru_hash && features.sched_cls && features.xdp && features.tcx &&
                features.ktime_coarse);
    EXPECT_FALSE(features.kernel_release.empty());
    Status required = require_datapath_features(features);
    EXPECT_TRUE(required.ok()) << required.error().to_string();
    Status privileged = check_privileges();
    EXPECT_TRUE(privileged.ok()) << privileged.error().to_string();

    features.ringbuf = false;
    features.ktime_coarse = false;
    features.tcx = false; // optional: clsact takes over
    Status lacking = require_datapath_features(features);
    ASSERT_FALSE(lacking.ok());
    EXPECT_NE(lacking.error().message.find("BPF ring buffer (Linux 5.8)"), std::string::npos);
    EXPECT_NE(lacking.error().message.find("bpf_ktime_get_coarse_ns (Linux 5.11)"),
              std::string::npos);
    EXPECT_EQ(lacking.error().message.find("tcx"), std::string::npos);
    EXPECT_NE(lacking.error().message.find("Linux 5.11 or newer"), std::string::npos)
        << lacking.error().message;
}

TEST_F(AttachTest, RunInNetnsEntersOnlyAWorkerThreadAndCarriesResultsBack) {
    auto own_netns = [] { return std::filesystem::read_symlink("/proc/thread-self/ns/net"); };
    const std::filesystem::path before = own_netns();
    std::filesystem::path inside;
    Status status = run_in_netns(iface_b_.netns_path, [&]() -> Status {
        inside = own_netns();
        return Error{EAGAIN, "from inside"};
    });
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().message, "from inside");
    EXPECT_NE(inside, before);
    EXPECT_EQ(own_netns(), before);
    EXPECT_THROW((void)run_in_netns(iface_b_.netns_path,
                                    []() -> Status { throw std::runtime_error("thrown inside"); }),
                 std::runtime_error);
}

TEST_F(AttachTest, ErrorsNameTheInterfaceAndTheNamespace) {
    const InterfaceRef missing{"/run/netns/" + netns_a_, if_a_ + "zz"};
    auto tc = TcAttachment::attach(missing, TcHook::ingress, tc_pass_.get(), TcAttachMode::tcx);
    ASSERT_FALSE(tc.ok());
    EXPECT_EQ(tc.error().errnum, ENODEV);
    EXPECT_NE(
        tc.error().message.find("no interface " + missing.name + " in netns " + missing.netns_path),
        std::string::npos)
        << tc.error().message;
    auto xdp = XdpAttachment::attach(missing, xdp_pass_.get(), XdpMode::automatic);
    ASSERT_FALSE(xdp.ok());
    EXPECT_NE(xdp.error().message.find(missing.name), std::string::npos);

    const std::string gone_netns = "/run/netns/" + netns_a_ + "gone";
    Result<int> no_netns = ifindex_of(gone_netns, if_a_);
    ASSERT_FALSE(no_netns.ok());
    EXPECT_NE(no_netns.error().message.find(gone_netns), std::string::npos);

    auto wrong_type =
        TcAttachment::attach(iface_b_, TcHook::ingress, xdp_pass_.get(), TcAttachMode::tcx);
    ASSERT_FALSE(wrong_type.ok());
    EXPECT_NE(wrong_type.error().message.find("attach tcx ingress on " + iface_b_.to_string()),
              std::string::npos)
        << wrong_type.error().message;

    Result<int> found = ifindex_of(iface_b_.netns_path, if_b_);
    ASSERT_TRUE(found.ok()) << found.error().to_string();
    EXPECT_GT(found.value(), 0);
}

} // namespace
} // namespace flowwall::datapath
