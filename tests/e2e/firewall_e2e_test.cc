// SPDX-License-Identifier: Apache-2.0
// The firewall on real interfaces: a lab of network namespaces (web, db, intruder) routed
// through a hub namespace, the programs attached through the datapath library to the
// hub-side veth peers (where a container's host-side peer would be), real TCP and UDP
// connections. Allowed flows connect and their replies come back, denied ones time out,
// learn mode lets everything through and reports each new flow once, and nothing is left
// behind: no netns, link, qdisc or pin.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <tuple>

#include "src/common/ip_address.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/event_reader.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/tc_attachment.h"
#include "tests/support/netns_lab.h"
#include "tests/support/require_root.h"
#include "tests/support/traffic.h"

namespace flowwall::testing {
namespace {

using namespace std::chrono_literals;
using datapath::FirewallProgram;
using datapath::InterfaceRef;
using datapath::TcAttachment;
using datapath::TcAttachMode;
using datapath::TcHook;

constexpr uint32_t web_id = 1000, db_id = 1001, intruder_id = 1002;
constexpr uint16_t db_tcp_port = 15432, db_udp_port = 15353;

// Where the programs sit: on the hub-side peer (like a container's host-side veth), or on
// the workload's own interface inside its namespace (like a Swarm overlay endpoint).
enum class Placement { hub_peer, inside_workload };

class FirewallLab : public ::testing::TestWithParam<std::tuple<TcAttachMode, Placement>> {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("creates network namespaces and attaches BPF programs");
        Lab::remove_stale();
        lab_ = std::make_unique<Lab>();
        web_ = &lab_->add_workload("web");
        db_ = &lab_->add_workload("db");
        intruder_ = &lab_->add_workload("intruder");

        pin_dir_ = "/sys/fs/bpf/flowwall-e2e-" + std::to_string(::getpid());
        ASSERT_TRUE(datapath::ensure_bpffs_dir(pin_dir_).ok());
        datapath::FirewallOptions options;
        options.pin_dir = pin_dir_;
        options.event_dedup_interval = 60s;
        auto loaded = datapath::FirewallObject::load(options);
        ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
        firewall_ = std::move(loaded).value();
        auto reader = datapath::EventReader::open(
            firewall_->maps().events_fd, [this](const fw_event& e) { events_.push_back(e); });
        ASSERT_TRUE(reader.ok());
        reader_ = std::make_unique<datapath::EventReader>(std::move(reader).value());

        for (auto [workload, id] :
             {std::pair{web_, web_id}, {db_, db_id}, {intruder_, intruder_id}}) {
            for (const Address& a : {workload->v4, workload->v6}) {
                auto ip = IpAddress::parse(a.str()).value();
                ASSERT_TRUE(
                    firewall_->maps()
                        .ipcache.update(datapath::ipcache_key(ip), {id, FW_IDENTITY_F_LOCAL})
                        .ok());
            }
            attach(*workload);
        }
    }

    void TearDown() override {
        attachments_.clear(); // detach before the namespaces go
        reader_.reset();
        if (firewall_) {
            EXPECT_TRUE(firewall_->unpin().ok());
            firewall_.reset();
        }
        if (!pin_dir_.empty()) {
            EXPECT_TRUE(datapath::remove_pin_tree(pin_dir_).ok());
            EXPECT_FALSE(std::filesystem::exists(pin_dir_));
        }
        lab_.reset();
    }

    void attach(const Workload& workload) {
        const auto [mode, placement] = GetParam();
        // At the hub peer, the workload's packets arrive on ingress; inside the workload
        // they leave through eth0's egress.
        InterfaceRef iface = placement == Placement::hub_peer
                                 ? InterfaceRef{lab_->hub_netns_path(), workload.hub_ifname}
                                 : InterfaceRef{workload.netns_path, workload.ifname};
        TcHook from_hook = placement == Placement::hub_peer ? TcHook::ingress : TcHook::egress;
        TcHook to_hook = placement == Placement::hub_peer ? TcHook::egress : TcHook::ingress;
        for (auto [hook, program] : {std::pair{from_hook, FirewallProgram::from_workload},
                                     {to_hook, FirewallProgram::to_workload}}) {
            auto attached = TcAttachment::attach(iface, hook, firewall_->program_fd(program), mode);
            ASSERT_TRUE(attached.ok()) << attached.error().to_string();
            attachments_.push_back(std::move(attached).value());
        }
    }

    void set_mode(uint32_t identity, fw_mode mode) {
        ASSERT_TRUE(firewall_->maps().modes.update(identity, {static_cast<uint32_t>(mode)}).ok());
    }

    void allow(uint32_t src, uint32_t dst, uint16_t port, uint8_t protocol) {
        ASSERT_TRUE(
            firewall_->maps()
                .policy.update(datapath::policy_key(src, dst, port, protocol), {FW_POLICY_F_MANUAL})
                .ok());
    }

    std::vector<fw_event> take_events() {
        EXPECT_TRUE(reader_->drain().ok());
        return std::exchange(events_, {});
    }

    std::unique_ptr<Lab> lab_;
    const Workload* web_ = nullptr;
    const Workload* db_ = nullptr;
    const Workload* intruder_ = nullptr;
    std::filesystem::path pin_dir_;
    std::unique_ptr<datapath::FirewallObject> firewall_;
    std::unique_ptr<datapath::EventReader> reader_;
    std::vector<TcAttachment> attachments_;
    std::vector<fw_event> events_;
};

TEST_P(FirewallLab, BlockModeAllowsTheModelAndDropsTheRest) {
    for (uint32_t id : {web_id, db_id, intruder_id})
        set_mode(id, FW_MODE_BLOCK);
    allow(web_id, db_id, db_tcp_port, IPPROTO_TCP);
    allow(web_id, db_id, db_udp_port, IPPROTO_UDP);
    TcpServer db_tcp4(db_->netns_path, db_->v4, db_tcp_port);
    TcpServer db_tcp6(db_->netns_path, db_->v6, db_tcp_port);
    UdpEchoServer db_udp(db_->netns_path, db_->v4, db_udp_port);
    TcpServer web_tcp(web_->netns_path, web_->v4, db_tcp_port);

    // Allowed: connects, and the echo (the reply direction) comes back; both families.
    for (int i = 0; i < 3; ++i) {
        auto v4 = tcp_connect(web_->netns_path, db_->v4, db_tcp_port, kAllowTimeout);
        EXPECT_TRUE(v4.ok()) << v4.error;
        auto v6 = tcp_connect(web_->netns_path, db_->v6, db_tcp_port, kAllowTimeout);
        EXPECT_TRUE(v6.ok()) << v6.error;
        auto udp = udp_exchange(web_->netns_path, db_->v4, db_udp_port, kAllowTimeout);
        EXPECT_TRUE(udp.ok()) << udp.error;
    }
    // Denied: lateral movement from the intruder, the reverse direction, another port.
    EXPECT_FALSE(tcp_connect(intruder_->netns_path, db_->v4, db_tcp_port).connected);
    EXPECT_FALSE(tcp_connect(db_->netns_path, web_->v4, db_tcp_port).connected);
    EXPECT_FALSE(udp_exchange(intruder_->netns_path, db_->v4, db_udp_port).reply_received);
    EXPECT_EQ(db_tcp4.accepted(), 3u);
    EXPECT_EQ(web_tcp.accepted(), 0u);

    std::set<std::tuple<uint32_t, uint32_t, uint16_t>> drops;
    for (const auto& e : take_events()) {
        EXPECT_EQ(e.kind, static_cast<uint32_t>(FW_EVENT_DROP));
        drops.insert({e.src_identity, e.dst_identity, e.dst_port});
    }
    EXPECT_EQ(drops, (std::set<std::tuple<uint32_t, uint32_t, uint16_t>>{
                         {intruder_id, db_id, db_tcp_port},
                         {db_id, web_id, db_tcp_port},
                         {intruder_id, db_id, db_udp_port}}));
}

TEST_P(FirewallLab, LearnModeLetsAllPassAndReportsEachNewFlowOnce) {
    for (uint32_t id : {web_id, db_id, intruder_id})
        set_mode(id, FW_MODE_LEARN);
    TcpServer db_tcp(db_->netns_path, db_->v4, db_tcp_port);
    UdpEchoServer db_udp(db_->netns_path, db_->v4, db_udp_port);
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_tcp_port, kAllowTimeout).ok());
        EXPECT_TRUE(udp_exchange(web_->netns_path, db_->v4, db_udp_port, kAllowTimeout).ok());
        EXPECT_TRUE(tcp_connect(intruder_->netns_path, db_->v4, db_tcp_port, kAllowTimeout).ok());
    }
    auto events = take_events();
    std::multiset<std::tuple<uint32_t, uint32_t, uint16_t, uint8_t>> learned;
    for (const auto& e : events) {
        EXPECT_EQ(e.kind, static_cast<uint32_t>(FW_EVENT_LEARNED));
        learned.insert({e.src_identity, e.dst_identity, e.dst_port, e.protocol});
    }
    EXPECT_EQ(learned, (std::multiset<std::tuple<uint32_t, uint32_t, uint16_t, uint8_t>>{
                           {web_id, db_id, db_tcp_port, IPPROTO_TCP},
                           {web_id, db_id, db_udp_port, IPPROTO_UDP},
                           {intruder_id, db_id, db_tcp_port, IPPROTO_TCP}}));
    EXPECT_EQ(firewall_->maps().policy.count(), 3u);

    // The end of learning is one mode flip: the learned flows keep working, others stop.
    for (uint32_t id : {web_id, db_id, intruder_id})
        set_mode(id, FW_MODE_BLOCK);
    EXPECT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_tcp_port, kAllowTimeout).ok());
    EXPECT_FALSE(tcp_connect(web_->netns_path, intruder_->v4, db_tcp_port).connected);
}

TEST_P(FirewallLab, DetachRestoresTrafficAndLeavesNoHookBehind) {
    set_mode(db_id, FW_MODE_BLOCK);
    TcpServer db_tcp(db_->netns_path, db_->v4, db_tcp_port);
    EXPECT_FALSE(tcp_connect(web_->netns_path, db_->v4, db_tcp_port).connected);
    for (auto& attachment : attachments_)
        EXPECT_TRUE(attachment.detach().ok());
    EXPECT_TRUE(tcp_connect(web_->netns_path, db_->v4, db_tcp_port, kAllowTimeout).ok());

    const auto [mode, placement] = GetParam();
    for (const Workload* w : {web_, db_, intruder_}) {
        InterfaceRef iface = placement == Placement::hub_peer
                                 ? InterfaceRef{lab_->hub_netns_path(), w->hub_ifname}
                                 : InterfaceRef{w->netns_path, w->ifname};
        for (TcHook hook : {TcHook::ingress, TcHook::egress}) {
            auto ids = datapath::tcx_program_ids(iface, hook);
            ASSERT_TRUE(ids.ok());
            EXPECT_TRUE(ids.value().empty()) << iface.to_string();
        }
        const std::string& ns = placement == Placement::hub_peer ? lab_->hub_netns() : w->netns;
        const std::string& dev = placement == Placement::hub_peer ? w->hub_ifname : w->ifname;
        auto qdiscs = Lab::exec(ns, {"tc", "qdisc", "show", "dev", dev});
        EXPECT_EQ(qdiscs.out.find("clsact"), std::string::npos) << qdiscs.out;
    }
}

std::string name_of(const ::testing::TestParamInfo<std::tuple<TcAttachMode, Placement>>& info) {
    const auto [mode, placement] = info.param;
    return std::string(mode == TcAttachMode::tcx ? "tcx" : "clsact") +
           (placement == Placement::hub_peer ? "_hub_peer" : "_inside_workload");
}

INSTANTIATE_TEST_SUITE_P(
    Attachments, FirewallLab,
    ::testing::Combine(::testing::Values(TcAttachMode::tcx, TcAttachMode::clsact),
                       ::testing::Values(Placement::hub_peer, Placement::inside_workload)),
    name_of);

} // namespace
} // namespace flowwall::testing
