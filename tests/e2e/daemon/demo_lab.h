// SPDX-License-Identifier: Apache-2.0
// The demo's lab, shared by ./scripts/demo (lab_demo.cc) and the Radar browser test, so the
// README's screenshot shows what the demo runs: namespaces web, api, db and intruder behind a
// router, each with its servers (api:8080, db:5432 and 2222, web:8080), described by an
// endpoints file that names each namespace's identity. Everything is removed when it goes.
#pragma once

#include "tests/support/netns_lab.h"
#include "tests/support/traffic.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace flowwall::testing {

class DemoLab {
public:
    static constexpr uint16_t kApiPort = 8080;
    static constexpr uint16_t kDbPort = 5432;
    static constexpr uint16_t kSshPort = 2222;

    DemoLab();
    ~DemoLab();
    DemoLab(const DemoLab&) = delete;
    DemoLab& operator=(const DemoLab&) = delete;

    const Workload& web() const { return *web_; }
    const Workload& api() const { return *api_; }
    const Workload& db() const { return *db_; }
    const Workload& intruder() const { return *intruder_; }
    std::vector<const Workload*> workloads() const { return {web_, api_, db_, intruder_}; }

    // flowwalld arguments that make it watch this lab (no Docker, the endpoints file).
    std::vector<std::string> daemon_args() const;

private:
    Lab lab_;
    const Workload* web_;
    const Workload* api_;
    const Workload* db_;
    const Workload* intruder_;
    std::vector<std::unique_ptr<TcpServer>> servers_;
    std::filesystem::path endpoints_file_;
};

// One TCP connection attempt from `from` to `to`: true if it connected. A connection that is
// expected to be refused waits only kDenyTimeout.
bool connects(const Workload& from, const Workload& to, uint16_t port, bool expect_ok);

} // namespace flowwall::testing
