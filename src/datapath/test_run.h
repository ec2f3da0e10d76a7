// SPDX-License-Identifier: Apache-2.0
// BPF_PROG_TEST_RUN: runs a loaded program on a packet in the kernel, without an
// interface. Used by the BPF test tables and the benchmarks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "src/common/result.h"

namespace flowwall::datapath {

struct TestRunResult {
    uint32_t retval = 0;      // the program's return value (TC_ACT_*, XDP_*)
    uint32_t duration_ns = 0; // mean time of one run, measured by the kernel
};

Result<TestRunResult> test_run(int program_fd, std::span<const uint8_t> packet,
                               uint32_t repeat = 1);

} // namespace flowwall::datapath
