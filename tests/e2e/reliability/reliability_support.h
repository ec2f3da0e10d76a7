// SPDX-License-Identifier: Apache-2.0
// What the reliability tests share: the endpoints file of a lab, the ids of what a daemon
// pinned (to tell adoption from re-creation), models to import, and traffic that runs in
// background threads while daemons are killed, restarted and upgraded underneath it.
#pragma once

#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/endpoints_writer.h"
#include "tests/support/netns_lab.h"
#include "tests/support/traffic.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flowwall::testing {

// One flow of the export format, for `flowwall model import`.
nlohmann::json model_flow(const std::string& src, const std::string& dst, uint16_t port,
                          const std::string& protocol = "tcp");
// Writes {"version": 1, "flows": flows} to path.
void write_model(const std::filesystem::path& path, const nlohmann::json& flows);

// Ids the kernel gave what a daemon pinned, read the way bpftool would.
struct PinnedIds {
    std::map<std::string, uint32_t> maps;          // pin name -> map id
    std::map<std::string, uint32_t> links;         // pin name under links/ -> link id
    std::map<std::string, uint32_t> link_programs; // pin name under links/ -> program id
};
PinnedIds pinned_ids(const std::filesystem::path& pin_dir);

// Program ids `flowwall status` reports for the running daemon (from_workload, to_workload).
std::vector<uint32_t> daemon_program_ids(const DaemonProcess& daemon);

// The kernel's tag of a loaded program (a hash of its instructions), in hex: the same for
// every load of one build, different for another build's code. Empty if the id is gone.
std::string program_tag(uint32_t program_id);

// Programs attached (tcx) at `ingress` or egress of a workload's veth peer in the lab's hub,
// where the daemon guards it.
size_t programs_on(const Workload& workload, bool ingress);

// Connections made in a loop on a background thread, each judged against what the test
// expects: bounded by a count and a time budget, with a pause between attempts.
class TrafficLoop {
public:
    struct Options {
        std::string name;
        bool expect_connected = true; // allowed traffic; false: denied traffic
        int max_attempts = 200;
        std::chrono::milliseconds budget{20000};
        std::chrono::milliseconds pause{50};
    };
    TrafficLoop(Options options, std::function<TcpResult()> attempt);
    ~TrafficLoop();
    TrafficLoop(const TrafficLoop&) = delete;
    TrafficLoop& operator=(const TrafficLoop&) = delete;

    void wait();                            // until the count or the budget is used up
    void stop() { thread_.request_stop(); } // after the attempt under way
    int attempts() const { return attempts_.load(); }
    // Allowed traffic that failed, or denied traffic that got through.
    int unexpected() const { return unexpected_.load(); }
    // "web->api: 250 attempts, 0 unexpected (first: ...)"
    std::string summary() const;

private:
    Options options_;
    std::atomic<int> attempts_{0};
    std::atomic<int> unexpected_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> examples_; // the first few unexpected outcomes
    std::jthread thread_;
};

} // namespace flowwall::testing
