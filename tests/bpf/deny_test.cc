// SPDX-License-Identifier: Apache-2.0
// Deny lists in the TC firewall: a listed source entering a workload (inbound) and a
// workload connecting to a listed destination (outbound) are refused with reason
// deny_listed, counted per list and reported like other drops, whatever the model says; the
// allow set and the ipcache (workloads, the node) win. And CIDR entities: an address no
// workload owns takes the identity of the longest entity prefix that holds it.
#include <linux/bpf.h>
#include <unistd.h>

#include "src/common/unique_fd.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/cidr_entities.h"
#include "src/datapath/deny_sets.h"
#include "src/datapath/prefilter_object.h"
#include "tests/bpf/firewall_fixture.h"

namespace flowwall::testing {
namespace {

using datapath::DenyLists;

IpPrefix prefix(const char* text) {
    return IpPrefix::parse(text).value();
}

const Address listed_v4 = Address::v4("198.19.66.7"); // in 198.19.66.0/24: both ways
const Address c2_v4 = Address::v4("198.19.77.7");     // outbound only
const Address listed_v6 = Address::v6("fd00:bad::7"); // fd00:bad::/32: inbound only
const Address unlisted_v4 = Address::v4("198.19.67.7");

class Deny : public FirewallFixture {
protected:
    void arrange() override {
        deny_ = std::make_unique<datapath::DenySets>(std::vector{maps().deny});
        datapath::DenySnapshot lists;
        lists.entries = {{prefix("198.19.66.0/24"), DenyLists{1, 1}},
                         {prefix("198.19.77.0/24"), DenyLists{0, 2}},
                         {prefix("fd00:bad::/32"), DenyLists{3, 0}}};
        auto status = deny_->replace(lists);
        ASSERT_TRUE(status.ok()) << status.error().to_string();
        // The model allows everything these tests send: only the lists refuse.
        set_default_mode(FW_MODE_OFF);
    }

    uint64_t dropped_by(uint16_t list) {
        auto counters = deny_->counters();
        return counters.count(list) ? counters[list].packets : 0;
    }

    std::unique_ptr<datapath::DenySets> deny_;
};

TEST_F(Deny, ListedSourceCannotReachAWorkloadInbound) {
    EXPECT_EQ(send(PacketBuilder::tcp(listed_v4, 40000, web.v4, 443, TcpFlags::syn),
                   FirewallProgram::to_workload),
              Verdict::drop);
    // Not only new connections: whatever comes from there.
    EXPECT_EQ(send(PacketBuilder::tcp(listed_v4, 40000, web.v4, 443, TcpFlags::ack),
                   FirewallProgram::to_workload),
              Verdict::drop);
    EXPECT_EQ(send(PacketBuilder::udp(listed_v6, 5000, web.v6, 53), FirewallProgram::to_workload),
              Verdict::drop);
    EXPECT_EQ(send(PacketBuilder::tcp(unlisted_v4, 40000, web.v4, 443, TcpFlags::syn),
                   FirewallProgram::to_workload),
              Verdict::pass);
    // An outbound-only list does not refuse what comes from there.
    EXPECT_EQ(send(PacketBuilder::tcp(c2_v4, 40000, web.v4, 443, TcpFlags::syn),
                   FirewallProgram::to_workload),
              Verdict::pass);
    EXPECT_EQ(counter(FW_REASON_DENY_LISTED), 3u);
    EXPECT_EQ(dropped_by(1), 2u);
    EXPECT_EQ(dropped_by(3), 1u);
    EXPECT_EQ(dropped_by(2), 0u);
}

TEST_F(Deny, WorkloadCannotConnectToAListedDestinationOutbound) {
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40001, c2_v4, 443, TcpFlags::syn)), Verdict::drop);
    EXPECT_EQ(send(PacketBuilder::udp(web.v4, 40001, listed_v4, 53)), Verdict::drop);
    EXPECT_EQ(send(PacketBuilder::icmp_echo(web.v4, c2_v4, 9, 1)), Verdict::drop);
    // Inbound-only list: the workload may still reach it.
    EXPECT_EQ(send(PacketBuilder::udp(web.v6, 40001, listed_v6, 53)), Verdict::pass);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40001, unlisted_v4, 443, TcpFlags::syn)),
              Verdict::pass);
    EXPECT_EQ(dropped_by(2), 2u);
    EXPECT_EQ(dropped_by(1), 1u);
    // The refused UDP and ICMP flows left no conntrack entry that would let replies in.
    EXPECT_EQ(maps().conntrack4.count(), 0u);
    EXPECT_EQ(maps().conntrack6.count(), 1u);
}

TEST_F(Deny, RefusalsAreReportedOncePerFlowAsDrops) {
    for (uint16_t i = 0; i < 5; ++i)
        send(PacketBuilder::tcp(web.v4, static_cast<uint16_t>(41000 + i), c2_v4, 8443,
                                TcpFlags::syn));
    auto events = take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, static_cast<uint32_t>(FW_EVENT_DROP));
    EXPECT_EQ(events[0].reason, static_cast<uint32_t>(FW_REASON_DENY_LISTED));
    EXPECT_EQ(events[0].src_identity, web.identity);
    EXPECT_EQ(events[0].dst_identity, static_cast<uint32_t>(FW_ID_WORLD));
    EXPECT_EQ(events[0].direction, static_cast<uint8_t>(FW_DIR_FROM_WORKLOAD));
    EXPECT_EQ(counter(FW_CTR_EVENTS_SUPPRESSED), 4u);
}

TEST_F(Deny, ListsWinOverTheModelButNotOverAllowSetOrKnownAddresses) {
    set_mode(web.identity, FW_MODE_LEARN);
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40002, c2_v4, 443, TcpFlags::syn)), Verdict::drop);
    EXPECT_EQ(maps().policy.count(), 0u) << "a refused connection is not learned";

    ASSERT_TRUE(deny_->set_allow({prefix("198.19.77.0/28")}).ok());
    EXPECT_EQ(send(PacketBuilder::tcp(web.v4, 40002, c2_v4, 443, TcpFlags::syn)), Verdict::pass);

    // A workload whose address a list covers (feeds list private ranges) is not cut off.
    place(listed_v4, intruder.identity);
    EXPECT_EQ(send(PacketBuilder::tcp(listed_v4, 40003, web.v4, 443, TcpFlags::syn),
                   FirewallProgram::to_workload),
              Verdict::pass);
}

TEST_F(Deny, CidrEntitiesLongestPrefixWins) {
    datapath::CidrEntities entities(maps().cidr);
    // The fixture's 198.19.128.0/17 is entity 2000; inside it a /24 and a /32 of their own.
    ASSERT_TRUE(entities.put(prefix("198.19.200.0/24"), 2001).ok());
    ASSERT_TRUE(entities.put(prefix("198.19.200.9/32"), 2002).ok());
    ASSERT_TRUE(entities.put(prefix("fd00:e::/48"), 2003).ok());
    EXPECT_FALSE(entities.put(prefix("198.18.99.0/24"), FW_ID_WORLD).ok());
    EXPECT_EQ(entities.lookup(prefix("198.19.200.0/24")), 2001u);

    set_default_mode(FW_MODE_UNSET);
    set_mode(web.identity, FW_MODE_LEARN);
    struct Case {
        Address remote;
        uint32_t identity;
    };
    for (const auto& [remote, identity] :
         std::vector<Case>{{Address::v4("198.19.130.1"), cidr_identity},
                           {Address::v4("198.19.200.1"), 2001},
                           {Address::v4("198.19.200.9"), 2002},
                           {Address::v6("fd00:e::1"), 2003},
                           {Address::v6("fd00:f::1"), FW_ID_WORLD}}) {
        const Address& own = remote.family() == AF_INET ? web.v4 : web.v6;
        EXPECT_EQ(send(PacketBuilder::tcp(own, 40004, remote, 443, TcpFlags::syn)), Verdict::pass);
        EXPECT_TRUE(in_model(flow(web.identity, identity, 443, IPPROTO_TCP))) << remote.str();
    }
    // Learned under the entity: the events name it too.
    auto events = take_events();
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[2].dst_identity, 2002u);

    // Erased: the /32 falls back to the /24, whose flow on 8443 alone is in the model.
    ASSERT_TRUE(entities.erase(prefix("198.19.200.9/32")).ok());
    set_mode(web.identity, FW_MODE_BLOCK);
    allow(flow(web.identity, 2001, 8443, IPPROTO_TCP));
    EXPECT_EQ(
        send(PacketBuilder::tcp(web.v4, 40005, Address::v4("198.19.200.9"), 8443, TcpFlags::syn)),
        Verdict::pass);
    EXPECT_EQ(
        send(PacketBuilder::tcp(web.v4, 40005, Address::v4("198.19.130.9"), 8443, TcpFlags::syn)),
        Verdict::drop);
    EXPECT_EQ(entities.entries().size(), 3u);
}

// Pinned in one directory, the firewall and the prefilter share the deny maps: one DenySets
// write reaches both programs, and a restarted daemon (new objects, same pins) finds the live
// generation and can change it in place.
TEST(DenyPinned, FirewallAndPrefilterShareTheListsAcrossRestarts) {
    FLOWWALL_REQUIRE_ROOT("pins BPF maps under /sys/fs/bpf");
    const std::filesystem::path dir = "/sys/fs/bpf/flowwall-deny-test-" + std::to_string(getpid());
    ASSERT_TRUE(datapath::ensure_bpffs_dir(dir).ok());
    struct Cleanup {
        std::filesystem::path dir;
        ~Cleanup() { EXPECT_TRUE(datapath::remove_pin_tree(dir).ok()); }
    } cleanup{dir};
    auto syn_in = PacketBuilder::tcp(listed_v4, 40000, web.v4, 443, TcpFlags::syn).build();
    {
        // What an ABI-2 node left: its single deny trie, which the prefilter's load unpins.
        UniqueFd old_trie(bpf_map_create(BPF_MAP_TYPE_ARRAY, "fw_deny_v1", 4, 4, 1, nullptr));
        ASSERT_TRUE(old_trie.valid());
        ASSERT_EQ(bpf_obj_pin(old_trie.get(), (dir / "fw_deny_v1").c_str()), 0);
    }
    {
        datapath::FirewallOptions options;
        options.pin_dir = dir;
        auto firewall = datapath::FirewallObject::load(options);
        ASSERT_TRUE(firewall.ok()) << firewall.error().to_string();
        auto prefilter = datapath::PrefilterObject::load({dir});
        ASSERT_TRUE(prefilter.ok()) << prefilter.error().to_string();
        EXPECT_FALSE(std::filesystem::exists(dir / "fw_deny_v1"));
        datapath::DenySets deny({firewall.value()->maps().deny, prefilter.value()->maps().deny});
        ASSERT_TRUE(deny.replace({{{prefix("198.19.66.0/24"), DenyLists{1, 0}}}}).ok());
        EXPECT_EQ(datapath::test_run(prefilter.value()->program_fd(), syn_in).value().retval,
                  static_cast<uint32_t>(XDP_DROP));
        EXPECT_EQ(verdict_of(datapath::test_run(
                                 firewall.value()->program_fd(FirewallProgram::to_workload), syn_in)
                                 .value()
                                 .retval),
                  Verdict::drop);
        // Both programs counted into the one per-list counter.
        EXPECT_EQ(deny.counters()[1].packets, 2u);
    }
    datapath::FirewallOptions options;
    options.pin_dir = dir;
    auto firewall = datapath::FirewallObject::load(options);
    ASSERT_TRUE(firewall.ok()) << firewall.error().to_string();
    datapath::DenySets deny({firewall.value()->maps().deny});
    EXPECT_EQ(deny.size(), 1u);
    EXPECT_EQ(deny.counters()[1].packets, 2u);
    auto run = [&](const std::vector<uint8_t>& frame) {
        return verdict_of(
            datapath::test_run(firewall.value()->program_fd(FirewallProgram::to_workload), frame)
                .value()
                .retval);
    };
    EXPECT_EQ(run(syn_in), Verdict::drop);
    datapath::DenyDiff diff;
    diff.erase = {prefix("198.19.66.0/24")};
    diff.put = {{prefix("198.19.67.0/24"), DenyLists{2, 0}}};
    ASSERT_TRUE(deny.apply(diff).ok());
    EXPECT_EQ(run(syn_in), Verdict::pass);
    EXPECT_EQ(run(PacketBuilder::tcp(unlisted_v4, 40000, web.v4, 443, TcpFlags::syn).build()),
              Verdict::drop);
}

} // namespace
} // namespace flowwall::testing
