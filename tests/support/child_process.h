// SPDX-License-Identifier: Apache-2.0
// A program a test runs beside itself (a browser driver, Prometheus): started with its
// stdout on a pipe the test reads line by line, stderr to a file shown when it fails, and
// killed (SIGTERM, then SIGKILL) and reaped when the object goes, so no test leaves one behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowwall::testing {

class ChildProcess {
public:
    // argv[0] is looked up in PATH. Throws if it cannot be started.
    explicit ChildProcess(const std::vector<std::string>& argv);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // The next line of its stdout (without "\n"); nullopt on timeout or when stdout closed.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // Waits (bounded) for the exit: the exit code, or -1 if it was killed or did not exit.
    int wait(std::chrono::milliseconds timeout);
    // What it wrote to stderr so far.
    std::string errors() const;

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string buffer_;
    std::filesystem::path stderr_path_;
};

} // namespace flowwall::testing
