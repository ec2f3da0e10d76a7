// SPDX-License-Identifier: Apache-2.0
// A real flowwalld for end-to-end tests: the built binary, run as a child process with its
// own state dir, control socket and bpffs pin dir, so tests never touch a daemon an operator
// runs. The destructor stops it with SIGTERM (the test fails unless it exits 0 and no sanitizer
// reported anything), runs `flowwalld --cleanup` with the same settings (which also tests
// --cleanup) and removes the temp dir; the daemon's log is printed when a test failed.
#pragma once

#include "tests/support/netns_lab.h"

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace flowwall::testing {

class DaemonProcess {
public:
    // extra_args go to flowwalld after the test's own --state-dir/--socket/--bpffs-dir.
    explicit DaemonProcess(std::vector<std::string> extra_args);
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // Starts flowwalld and waits (bounded) until `flowwall status` answers. Throws with the
    // daemon's log when it exits or does not answer in time.
    // Works again after stop(), with the same state dir, socket and pin dir: a restart.
    void start(std::chrono::milliseconds timeout = std::chrono::seconds(15));
    // Only forks and execs flowwalld, without waiting for it to answer: for tests that kill
    // it part way through start-up.
    void launch();
    // Sends `signal` and waits for the exit; returns the exit status (-1 if killed by signal).
    int stop(int signal = 15);
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    // Runs later starts (and --cleanup) inside the network namespace at `netns_path`, as a
    // daemon on a node whose containers' veth peers live there (BridgeLab). Only the network
    // namespace changes: the pin dir and files stay the test's. web_get() does not reach a
    // daemon in another namespace (its loopback is that namespace's).
    void set_netns(std::string netns_path) { netns_path_ = std::move(netns_path); }
    // The flowwalld binary later starts run (and --cleanup): another build, for an upgrade.
    // By default the build's own (flowwalld_path()).
    void use_binary(std::string path) { binary_ = std::move(path); }

    // Later starts run `prefix... flowwalld ...` (prefix[0] looked up in PATH), e.g.
    // {"ip", "netns", "exec", NAME}.
    void use_prefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }

    // Runs the flowwall CLI against this daemon.
    ExecResult cli(const std::vector<std::string>& args) const;
    // `flowwall <args> --json`, parsed; throws with the CLI's stderr if it failed.
    nlohmann::json cli_json(const std::vector<std::string>& args) const;
    // `flowwall <args> --json` for commands that print one JSON object a line (events).
    nlohmann::json cli_json_lines(const std::vector<std::string>& args) const;
    // Runs flowwalld --cleanup with this daemon's settings.
    ExecResult cleanup() const;

    const std::filesystem::path& dir() const { return dir_; }
    const std::filesystem::path& pin_dir() const { return pin_dir_; }
    std::string socket() const { return (dir_ / "flowwall.sock").string(); }
    std::string log() const;
    // What a sanitizer printed in the log (a sanitizer build), from its first report on; empty
    // when nothing was reported.
    std::string sanitizer_report() const;
    // "http://127.0.0.1:41234": the web endpoint as the daemon bound it.
    std::string web_address() const;
    // GET path on the web endpoint: {status, body}; status -1 when nothing answered.
    std::pair<int, std::string> web_get(const std::string& path) const;

    static std::string flowwalld_path();
    static std::string flowwall_path();

private:
    std::vector<std::string> base_args() const;
    // stdout of `flowwall <args> --json`; throws with the CLI's stderr if it failed.
    std::string cli_json_text(const std::vector<std::string>& args) const;

    std::vector<std::string> extra_args_;
    std::filesystem::path dir_;     // temp: state, socket, log
    std::filesystem::path pin_dir_; // under /sys/fs/bpf
    std::string binary_ = flowwalld_path();
    std::string netns_path_; // empty: the test's own namespace
    std::vector<std::string> prefix_;
    pid_t pid_ = -1;
};

// The id `flowwall identities` gives `name`, waiting (bounded) for it to appear: the
// published view lags the maps by one reconcile. Throws when it does not appear.
uint32_t identity_id(const DaemonProcess& daemon, const std::string& name);

// True when `flowwall identities` lists no identity in learn mode: learning has ended for
// every identity the daemon knows.
bool none_learning(const DaemonProcess& daemon);

// Polls `condition` every 10 ms until it holds or `timeout` passes; returns the last result.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace flowwall::testing
