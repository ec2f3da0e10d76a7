// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/daemon/daemon_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace flowwall::testing {

namespace {
std::atomic<int> instance_counter{0};
}

std::string DaemonProcess::flowwalld_path() {
    return FLOWWALLD_PATH;
}
std::string DaemonProcess::flowwall_path() {
    return FLOWWALL_CLI_PATH;
}

DaemonProcess::DaemonProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
    std::string tag = std::to_string(::getpid()) + "-" + std::to_string(instance_counter++);
    dir_ = std::filesystem::temp_directory_path() / ("flowwalld-test-" + tag);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    pin_dir_ = "/sys/fs/bpf/flowwall-test-" + tag;
}

DaemonProcess::~DaemonProcess() {
    bool failed = ::testing::Test::HasFailure() || std::uncaught_exceptions() > 0;
    // SIGTERM, not SIGKILL: a clean exit is part of what every test checks, and only an exit
    // lets LeakSanitizer look for leaks in a sanitizer build.
    if (running()) {
        int code = stop(SIGTERM);
        if (code != 0) {
            ADD_FAILURE() << "flowwalld did not exit cleanly on SIGTERM (exit code " << code
                          << ", -1: killed or did not exit in 10 s)";
            failed = true;
        }
    }
    std::string report = sanitizer_report();
    if (!report.empty()) {
        ADD_FAILURE() << "a sanitizer reported an error in flowwalld:\n" << report;
        failed = true;
    }
    ExecResult cleaned = cleanup();
    if (!cleaned.ok()) {
        ADD_FAILURE() << "flowwalld --cleanup failed: " << cleaned.err;
        failed = true;
    }
    if (failed)
        std::fprintf(stderr, "---- flowwalld log (%s) ----\n%s---- end of log ----\n", dir_.c_str(),
                     log().c_str());
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> DaemonProcess::base_args() const {
    // Everything the daemon writes stays in the test's own directories; the web endpoint
    // takes a free loopback port (web_address() says which).
    return {binary_,
            "--state-dir",
            (dir_ / "state").string(),
            "--socket",
            socket(),
            "--bpffs-dir",
            pin_dir_.string(),
            "--audit-log",
            (dir_ / "audit.jsonl").string(),
            "--web-listen",
            "127.0.0.1:0",
            // The XDP prefilter goes on no uplink unless a test names one (--uplinks in its
            // arguments): never on the machine's own default-route interfaces.
            "--uplinks",
            "",
            "--log-level",
            "debug"};
}

void DaemonProcess::start(std::chrono::milliseconds timeout) {
    launch();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("flowwalld exited during start-up:\n" + log());
        }
        if (cli({"status"}).ok())
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("flowwalld did not answer within the start-up timeout:\n" + log());
}

void DaemonProcess::launch() {
    if (running())
        throw std::logic_error("flowwalld is running already: stop() it first");
    std::vector<std::string> args = prefix_;
    auto own = base_args();
    args.insert(args.end(), own.begin(), own.end());
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::string log_path = (dir_ / "flowwalld.log").string();

    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error("fork flowwalld");
    if (pid_ == 0) {
        int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        if (!netns_path_.empty()) {
            int netns_fd = ::open(netns_path_.c_str(), O_RDONLY | O_CLOEXEC);
            if (netns_fd < 0 || ::setns(netns_fd, CLONE_NEWNET) != 0) {
                ::perror("flowwalld test harness: enter the daemon's network namespace");
                ::_exit(126);
            }
        }
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
}

int DaemonProcess::stop(int signal) {
    if (!running())
        return -1;
    ::kill(pid_, signal);
    int status = 0;
    // Bounded: a daemon that ignores SIGTERM for 10 s is killed (and the test sees -1).
    for (int waited = 0; waited < 1000; ++waited) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
}

std::string DaemonProcess::sanitizer_report() const {
    // ASan and LSan start with "==pid==ERROR: ...Sanitizer", UBSan with "file:line:col: runtime
    // error:"; the report runs to the end of the log, since halt_on_error stops the process.
    std::string text = log();
    for (const char* marker :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: "}) {
        auto at = text.find(marker);
        if (at != std::string::npos)
            return text.substr(
                text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1);
    }
    return {};
}

ExecResult DaemonProcess::cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{flowwall_path(), "--socket", socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Lab::exec("", argv);
}

std::string DaemonProcess::cli_json_text(const std::vector<std::string>& args) const {
    std::vector<std::string> with_json = args;
    with_json.push_back("--json");
    ExecResult result = cli(with_json);
    if (!result.ok())
        throw std::runtime_error("flowwall " + args.front() + " failed: " + result.err);
    return result.out;
}

nlohmann::json DaemonProcess::cli_json(const std::vector<std::string>& args) const {
    return nlohmann::json::parse(cli_json_text(args));
}

nlohmann::json DaemonProcess::cli_json_lines(const std::vector<std::string>& args) const {
    nlohmann::json lines = nlohmann::json::array();
    std::istringstream in(cli_json_text(args));
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            lines.push_back(nlohmann::json::parse(line));
    return lines;
}

ExecResult DaemonProcess::cleanup() const {
    std::vector<std::string> args = base_args();
    args.push_back("--cleanup");
    if (!netns_path_.empty()) // nsenter, not `ip netns exec`, which would hide /sys/fs/bpf
        args.insert(args.begin(), {"nsenter", "--net=" + netns_path_});
    return Lab::exec("", args, std::chrono::seconds(30));
}

std::string DaemonProcess::web_address() const {
    auto web = cli_json({"status"}).at("web");
    return web.is_string() ? web.get<std::string>() : "";
}

std::pair<int, std::string> DaemonProcess::web_get(const std::string& path) const {
    std::string address = web_address();
    if (address.empty())
        return {-1, "no web endpoint"};
    httplib::Client client(address);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    auto answer = client.Get(path);
    if (!answer)
        return {-1, httplib::to_string(answer.error())};
    return {answer->status, answer->body};
}

std::string DaemonProcess::log() const {
    std::ifstream in(dir_ / "flowwalld.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

uint32_t identity_id(const DaemonProcess& daemon, const std::string& name) {
    std::optional<uint32_t> id;
    eventually([&] {
        for (const auto& identity : daemon.cli_json({"identities"}))
            if (identity.at("name") == name)
                id = identity.at("id").get<uint32_t>();
        return id.has_value();
    });
    if (!id)
        throw std::runtime_error("no identity " + name + " in flowwall identities");
    return *id;
}

bool none_learning(const DaemonProcess& daemon) {
    const nlohmann::json identities = daemon.cli_json({"identities"});
    return std::none_of(identities.begin(), identities.end(), [](const nlohmann::json& identity) {
        return identity.at("mode") == "learn";
    });
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
}

} // namespace flowwall::testing
