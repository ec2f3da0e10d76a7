// SPDX-License-Identifier: Apache-2.0
// A loaded, unpinned firewall object and the vocabulary the BPF tests speak: identities,
// modes, flows, packets in, verdicts, events and counters out.
#pragma once

#include <linux/pkt_cls.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/common/ip_address.h"
#include "src/datapath/event_reader.h"
#include "src/datapath/firewall_object.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/test_run.h"
#include "tests/support/packet_builder.h"
#include "tests/support/require_root.h"

namespace flowwall::testing {

using datapath::FirewallProgram;

// What TC sees back from the programs.
enum class Verdict { pass, drop, other };

inline Verdict verdict_of(uint32_t retval) {
    if (retval == static_cast<uint32_t>(TC_ACT_UNSPEC))
        return Verdict::pass;
    if (retval == TC_ACT_SHOT)
        return Verdict::drop;
    return Verdict::other;
}

inline const char* reason_name(uint32_t reason) {
    return datapath::counter_name(reason);
}

// Workloads of the test world. Addresses are in 198.18.0.0/15 (benchmarking range).
struct Workload {
    uint32_t identity;
    Address v4;
    Address v6;
};

inline const Workload web{1000, Address::v4("198.18.1.10"), Address::v6("fd00:198:18::10")};
inline const Workload db{1001, Address::v4("198.18.1.20"), Address::v6("fd00:198:18::20")};
inline const Workload intruder{1002, Address::v4("198.18.1.30"), Address::v6("fd00:198:18::30")};
inline const Address outside_v4 = Address::v4("198.19.0.5");       // no entry: world
inline const Address cidr_member_v4 = Address::v4("198.19.200.7"); // in the CIDR entity below
inline constexpr uint32_t cidr_identity = 2000;                    // 198.19.128.0/17

class FirewallFixture : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("loads the firewall BPF programs");
        datapath::FirewallOptions options;
        options.event_dedup_interval = dedup_interval();
        options.capacities = capacities();
        auto loaded = datapath::FirewallObject::load(options);
        ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
        firewall_ = std::move(loaded).value();
        auto reader = datapath::EventReader::open(
            firewall_->maps().events_fd, [this](const fw_event& e) { events_.push_back(e); });
        ASSERT_TRUE(reader.ok()) << reader.error().to_string();
        reader_ = std::make_unique<datapath::EventReader>(std::move(reader).value());

        for (const auto* w : {&web, &db, &intruder}) {
            place(w->v4, w->identity);
            place(w->v6, w->identity);
        }
        auto prefix = IpPrefix::parse("198.19.128.0/17").value();
        ASSERT_TRUE(
            firewall_->maps().cidr.update(datapath::cidr_key(prefix), {cidr_identity, 0}).ok());
        arrange();
    }

    // What a suite sets up on top (modes, flows); runs only once the fixture's own set-up
    // succeeded, so it needs no skip or failure check of its own.
    virtual void arrange() {}

    virtual std::chrono::nanoseconds dedup_interval() const { return std::chrono::seconds(30); }
    virtual datapath::FirewallCapacities capacities() const { return {}; }

    datapath::FirewallMaps& maps() { return firewall_->maps(); }

    void place(const Address& address, uint32_t identity) {
        auto ip = IpAddress::parse(address.str()).value();
        ASSERT_TRUE(maps().ipcache.update(datapath::ipcache_key(ip), {identity, 0}).ok());
    }

    void set_mode(uint32_t identity, fw_mode mode) {
        ASSERT_TRUE(maps().modes.update(identity, {static_cast<uint32_t>(mode)}).ok());
    }

    void set_default_mode(fw_mode mode) {
        ASSERT_TRUE(maps().settings.update(0, {static_cast<uint32_t>(mode), 0}).ok());
    }

    static fw_policy_key flow(uint32_t src, uint32_t dst, uint16_t port, uint8_t protocol) {
        return datapath::policy_key(src, dst, port, protocol);
    }

    void allow(const fw_policy_key& key) {
        ASSERT_TRUE(maps().policy.update(key, {FW_POLICY_F_MANUAL}).ok());
    }

    std::size_t conntrack_count() { return maps().conntrack4.count() + maps().conntrack6.count(); }

    bool in_model(const fw_policy_key& key) { return maps().policy.lookup(key).has_value(); }

    Verdict run(FirewallProgram program, const std::vector<uint8_t>& frame) {
        auto result = datapath::test_run(firewall_->program_fd(program), frame);
        EXPECT_TRUE(result.ok()) << result.error().to_string();
        return result.ok() ? verdict_of(result.value().retval) : Verdict::other;
    }

    Verdict send(const PacketBuilder& packet,
                 FirewallProgram program = FirewallProgram::from_workload) {
        return run(program, packet.build());
    }

    // Events written since the last call.
    std::vector<fw_event> take_events() {
        auto drained = reader_->drain();
        EXPECT_TRUE(drained.ok());
        return std::exchange(events_, {});
    }

    uint64_t counter(uint32_t index) { return datapath::read_counter(maps().stats, index).packets; }

    std::unique_ptr<datapath::FirewallObject> firewall_;
    std::unique_ptr<datapath::EventReader> reader_;
    std::vector<fw_event> events_;
};

} // namespace flowwall::testing
