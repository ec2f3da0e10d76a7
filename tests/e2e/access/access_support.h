// SPDX-License-Identifier: Apache-2.0
// What the access tests share: a requirement that fails in CI and skips elsewhere (a tool, a
// user), a file removed at the end, and reading a daemon's log lines by level.
#pragma once

#include "tests/e2e/daemon/daemon_process.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

// Like FLOWWALL_REQUIRE_ROOT: a run that could not test this must not pass in CI.
#define FLOWWALL_REQUIRE(condition, why)                                        \
    do {                                                                        \
        if (!(condition)) {                                                     \
            if (std::getenv("CI") != nullptr)                                   \
                GTEST_FAIL() << "missing: " << (why) << "; CI must provide it"; \
            GTEST_SKIP() << "missing: " << (why);                               \
        }                                                                       \
    } while (0)

namespace flowwall::testing {

// A file the test wrote, removed however the test ends.
struct RemovedAtEnd {
    std::filesystem::path path;
    ~RemovedAtEnd() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

// `command -v tool` as the test's own PATH sees it.
inline bool have_tool(const std::string& tool) {
    return Lab::exec("", {"sh", "-c", "command -v " + tool}).ok();
}

// The daemon's log lines from byte `from` on at these levels ("warning", "error",
// "critical"): flowwalld logs "<level>: <message>".
inline std::vector<std::string> log_lines_at(const DaemonProcess& daemon, std::size_t from,
                                             const std::vector<std::string>& levels) {
    std::string log = daemon.log();
    std::istringstream in(from < log.size() ? log.substr(from) : std::string());
    std::vector<std::string> found;
    for (std::string line; std::getline(in, line);)
        for (const auto& level : levels)
            if (line.starts_with(level + ": "))
                found.push_back(line);
    return found;
}

} // namespace flowwall::testing
