// SPDX-License-Identifier: Apache-2.0
// The kernel's tick rate (CONFIG_HZ). The datapath keeps conntrack time in jiffies,
// because bpf_jiffies64() is inlined by the JIT and the ktime helpers are not; user space
// converts durations with this.
#pragma once

#include <chrono>
#include <cstdint>

#include "src/common/result.h"

namespace flowwall::datapath {

// Measured once per process from /proc/timer_list (jiffies against the monotonic clock);
// /proc/config.gz is the fallback. The error says what to check when neither is readable.
Result<uint32_t> kernel_hz();

// Pure conversion, rounded up so a timeout is never shorter than asked.
uint64_t to_jiffies(std::chrono::nanoseconds duration, uint32_t hz);

// The common HZ values a measured rate is snapped to (100, 250, 300, 1000), or 0.
uint32_t snap_to_common_hz(double measured);

} // namespace flowwall::datapath
