// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/counters.h"

namespace flowwall::datapath {

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
