// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/test_run.h"

#include <bpf/bpf.h>

#include <string>

namespace flowwall::datapath {

Result<TestRunResult> test_run(int program_fd, std::span<const uint8_t> packet, uint32_t repeat) {
    // The kernel may write the packet back (programs can rewrite it); give it room.
    std::vector<uint8_t> data_out(packet.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = data_out.data(),
                .data_size_in = static_cast<uint32_t>(packet.size()),
                .data_size_out = static_cast<uint32_t>(data_out.size()),
                .repeat = static_cast<int>(repeat));
    if (int err = bpf_prog_test_run_opts(program_fd, &opts); err)
        return Error::from_errno(err, "BPF_PROG_TEST_RUN on a " + std::to_string(packet.size()) +
                                          "-byte packet");
    return TestRunResult{opts.retval, opts.duration};
}

} // namespace flowwall::datapath
