// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/spoofing/attack_table.h"

#include "src/datapath/bpffs.h"
#include "src/datapath/counters.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>

namespace flowwall::testing {

uint64_t datapath_counter(const DaemonProcess& daemon, const std::string& name) {
    auto fd = datapath::open_pinned_object(daemon.pin_dir() / FW_MAP_STATS);
    if (!fd)
        throw std::runtime_error("no pinned " + std::string(FW_MAP_STATS) + ": " +
                                 fd.error().message);
    datapath::CounterMap stats(fd.value().get(), FW_MAP_STATS);
    for (uint32_t index = 0; index < FW_CTR_MAX; ++index)
        if (name == datapath::counter_name(index))
            return datapath::read_counter(stats, index).packets;
    throw std::runtime_error("the datapath has no counter named " + name);
}

size_t audit_records(const DaemonProcess& daemon, const std::string& src_ip,
                     const std::string& dst_ip, const std::string& reason) {
    size_t count = 0;
    std::ifstream in(daemon.dir() / "audit.jsonl");
    for (std::string line; std::getline(in, line);) {
        auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (record.is_object() && record.value("src_ip", "") == src_ip &&
            record.value("dst_ip", "") == dst_ip &&
            (reason.empty() || record.value("reason", "") == reason))
            ++count;
    }
    return count;
}

bool audited(const DaemonProcess& daemon, const std::string& src_ip, const std::string& dst_ip,
             const std::string& reason, size_t records_before) {
    return eventually(
        [&] { return audit_records(daemon, src_ip, dst_ip, reason) > records_before; },
        std::chrono::seconds(3));
}

namespace {

// Every counter that moved between two readings, for a row's failure message.
std::string moved_counters(const std::array<fw_counter_value, FW_CTR_MAX>& before,
                           const std::array<fw_counter_value, FW_CTR_MAX>& after) {
    std::string moved;
    for (uint32_t index = 0; index < FW_CTR_MAX; ++index)
        if (after[index].packets != before[index].packets)
            moved += std::string(" ") + datapath::counter_name(index) + " +" +
                     std::to_string(after[index].packets - before[index].packets);
    return moved.empty() ? " none" : moved;
}

std::array<fw_counter_value, FW_CTR_MAX> all_counters(const DaemonProcess& daemon) {
    auto fd = datapath::open_pinned_object(daemon.pin_dir() / FW_MAP_STATS);
    if (!fd)
        return {};
    datapath::CounterMap stats(fd.value().get(), FW_MAP_STATS);
    return datapath::read_all_counters(stats);
}

std::string audit_lines_from(const DaemonProcess& daemon, const std::string& src_ip) {
    std::ifstream in(daemon.dir() / "audit.jsonl");
    std::string lines;
    for (std::string line; std::getline(in, line);)
        if (line.find("\"" + src_ip + "\"") != std::string::npos)
            lines += line + "\n";
    return lines;
}

// Every counter a row names, read now; a name the datapath lacks reads as nullopt, so the row
// fails with that name instead of the whole table stopping.
std::map<std::string, std::optional<uint64_t>> read_counters(const DaemonProcess& daemon,
                                                             const Attack& attack) {
    std::map<std::string, std::optional<uint64_t>> values;
    for (const auto& name : attack.counters) {
        try {
            values[name] = datapath_counter(daemon, name);
        } catch (const std::runtime_error&) {
            values[name] = std::nullopt;
        }
    }
    return values;
}

} // namespace

void run_attack_table(const std::vector<Attack>& all_attacks,
                      const std::function<DaemonProcess&()>& start_flowwall) {
    // FLOWWALL_ATTACK=<text>: only the rows whose name contains it (to debug one attack).
    std::vector<Attack> attacks;
    const char* only = std::getenv("FLOWWALL_ATTACK");
    for (const auto& attack : all_attacks)
        if (only == nullptr || attack.name.find(only) != std::string::npos)
            attacks.push_back(attack);
    for (const auto& attack : attacks) {
        SCOPED_TRACE("without flowwall: " + attack.name);
        EXPECT_TRUE(attack.attempt())
            << "the attack must work on the bare lab, or this row proves nothing";
        attack.undo();
    }
    DaemonProcess& daemon = start_flowwall();
    for (const auto& attack : attacks) {
        SCOPED_TRACE("against flowwalld in block mode: " + attack.name);
        auto before = read_counters(daemon, attack);
        const auto all_before = all_counters(daemon);
        // The row's own record: one an earlier row left for the same two addresses (6a's for
        // 6b) must not stand in for it.
        const size_t records_before =
            attack.audit_src.empty()
                ? 0
                : audit_records(daemon, attack.audit_src, attack.audit_dst, attack.audit_reason);
        const bool reached = attack.attempt();
        attack.undo();
        EXPECT_FALSE(reached) << "the attack got through";
        auto after = read_counters(daemon, attack);
        const std::string moved = moved_counters(all_before, all_counters(daemon));
        int risen = 0;
        std::string report;
        for (const auto& name : attack.counters) {
            if (!after[name]) {
                report += " " + name + " (no such counter)";
                continue;
            }
            const uint64_t was = before[name].value_or(0);
            report += " " + name + " " + std::to_string(was) + "->" + std::to_string(*after[name]);
            risen += *after[name] > was ? 1 : 0;
        }
        if (attack.any_counter) {
            EXPECT_GE(risen, 1) << "no counter rose:" << report
                                << "; counters that moved:" << moved;
        } else {
            EXPECT_EQ(risen, static_cast<int>(attack.counters.size()))
                << "not every counter rose:" << report << "; counters that moved:" << moved;
        }
        if (!attack.audit_src.empty()) {
            EXPECT_TRUE(audited(daemon, attack.audit_src, attack.audit_dst, attack.audit_reason,
                                records_before))
                << "no new audit record from " << attack.audit_src << " to " << attack.audit_dst
                << " (reason " << attack.audit_reason << ")"
                << "; records from " << attack.audit_src << ":\n"
                << audit_lines_from(daemon, attack.audit_src);
        }
    }
}

} // namespace flowwall::testing
