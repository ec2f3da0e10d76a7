// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/counters.h"

#include <string_view>

namespace flowwall::datapath {

const char* counter_name(uint32_t counter) {
    // Reasons 23-31 are room for later reasons: no name, no counter shown.
    static constexpr const char* names[FW_CTR_MAX] = {
        "ct_established", "ct_reply", "tcp_established", "policy_allow", "learned",
        "alert",          "mode_off", "no_workload",     "not_ip",       "fragment",
        "icmp_control",   "blocked",  "malformed",       "cidr_deny",    "prefilter_pass",
        "fail_closed",    "spoofed",  "spoofed_l2",      "rogue_router", "icmp_unmatched",
        "neighbour",      "dhcp",     "deny_listed",     nullptr,        nullptr,
        nullptr,          nullptr,    nullptr,           nullptr,        nullptr,
        nullptr,          nullptr,    "events_sent",     "events_lost",  "events_suppressed",
        "policy_full",    "ct_full"};
    static_assert(FW_REASON_DENY_LISTED == 22 && FW_CTR_EVENTS_SENT == 32,
                  "a new reason or counter needs its name here");
    if (counter >= FW_CTR_MAX || names[counter] == nullptr)
        return "unknown";
    return names[counter];
}

bool counter_in_use(uint32_t counter) {
    return std::string_view(counter_name(counter)) != "unknown";
}

fw_counter_value read_counter(const CounterMap& stats, uint32_t counter) {
    fw_counter_value total{};
    for (const auto& cpu : stats.lookup_per_cpu(counter)) {
        total.packets += cpu.packets;
        total.bytes += cpu.bytes;
    }
    return total;
}

std::array<fw_counter_value, FW_CTR_MAX> read_all_counters(const CounterMap& stats) {
    std::array<fw_counter_value, FW_CTR_MAX> all{};
    for (uint32_t i = 0; i < FW_CTR_MAX; ++i)
        all[i] = read_counter(stats, i);
    return all;
}

} // namespace flowwall::datapath
