// SPDX-License-Identifier: Apache-2.0
// libbpf's messages go to spdlog; while a load runs they are also kept, so that a verifier
// rejection reaches the user as "verifier rejected program: <log tail>" instead of only
// a bare errno.
#pragma once

#include <string>
#include <vector>

namespace flowwall::datapath {

// Installs the libbpf print callback once per process.
void route_libbpf_logs_to_spdlog();

// Collects libbpf's lines on this thread for as long as it lives.
class LibbpfLogCapture {
public:
    LibbpfLogCapture();
    ~LibbpfLogCapture();
    LibbpfLogCapture(const LibbpfLogCapture&) = delete;
    LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

    // The last `max_lines` lines, joined with newlines.
    std::string tail(std::size_t max_lines = 25) const;

    // Called by the libbpf print callback for each line on this thread.
    void append_line(std::string line) { lines_.push_back(std::move(line)); }

private:
    std::vector<std::string> lines_;
    LibbpfLogCapture* previous_;
};

// Around a libbpf call whose failure the caller expects and handles (creating a clsact hook
// that may exist already), libbpf's warnings on this thread are logged at debug level.
class LibbpfFailureExpected {
public:
    LibbpfFailureExpected();
    ~LibbpfFailureExpected();
    LibbpfFailureExpected(const LibbpfFailureExpected&) = delete;
    LibbpfFailureExpected& operator=(const LibbpfFailureExpected&) = delete;
};

} // namespace flowwall::datapath
