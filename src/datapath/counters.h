// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>

#include "flowwall/abi.h"
#include "src/datapath/typed_map.h"

namespace flowwall::datapath {

using CounterMap = PerCpuArray<fw_counter_value>;

// Stable snake_case names of the counters (enum fw_reason, then enum fw_counter), as
// metrics and logs show them; "unknown" past the end.
const char* counter_name(uint32_t counter);

// False for the unused room between the last reason and FW_REASON_MAX (and past the end):
// loops over the reasons skip those.
bool counter_in_use(uint32_t counter);

// One counter (enum fw_reason or enum fw_counter), summed over CPUs.
fw_counter_value read_counter(const CounterMap& stats, uint32_t counter);

// Every counter, summed over CPUs; indexed like the map.
std::array<fw_counter_value, FW_CTR_MAX> read_all_counters(const CounterMap& stats);

} // namespace flowwall::datapath
