// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/swarm/swarm_lab.h"

#include "tests/support/docker_host.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace flowwall::testing {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kDockerd = "/usr/sbin/dockerd";
constexpr std::string_view kDirPrefix = "flowwall-swarm-";
constexpr const char* kAdvertiseAddress = "198.18.200.1";

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string join(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& arg : args)
        out += (out.empty() ? "" : " ") + arg;
    return out;
}

std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

void run_ok(const std::vector<std::string>& argv) {
    ExecResult result = Lab::exec("", argv, 10s);
    if (!result.ok())
        throw std::runtime_error("`" + join(argv) + "` failed: " + result.err + result.out);
}

std::string netns_for(int pid) {
    return "fwsw" + std::to_string(pid);
}

// Processes whose command line mentions `text`: dockerd's containerd and the task shims name
// the lab's directory in theirs.
std::vector<pid_t> processes_mentioning(const std::string& text) {
    std::vector<pid_t> pids;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string cmdline = read_text(entry.path() / "cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(text) != std::string::npos && std::stoi(name) != ::getpid())
            pids.push_back(std::stoi(name));
    }
    return pids;
}

// Mount points under `dir` (overlay root filesystems, netns bind mounts), deepest first.
std::vector<std::string> mounts_under(const fs::path& dir) {
    std::vector<std::string> points;
    std::istringstream lines(read_text("/proc/self/mountinfo"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string id, parent, device, root, point;
        fields >> id >> parent >> device >> root >> point;
        if (point.rfind(dir.string() + "/", 0) == 0)
            points.push_back(point);
    }
    std::sort(points.begin(), points.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return points;
}

// What a lab leaves when its dockerd is gone (or never stopped): processes, mounts, the
// directory, the namespace (whose deletion takes docker0, docker_gwbridge and the veths).
void remove_lab_leftovers(const fs::path& dir, const std::string& netns) {
    for (pid_t pid : processes_mentioning(dir.string()))
        ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(100ms);
    for (const std::string& point : mounts_under(dir))
        ::umount2(point.c_str(), MNT_DETACH);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    if (fs::exists(Lab::netns_path(netns)))
        (void)Lab::exec("", {"ip", "netns", "del", netns}, 5s);
}

// Labs whose owner process is gone: /tmp/flowwall-swarm-<pid> with no process <pid>.
void remove_orphaned_labs() {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/tmp", error)) {
        const std::string name = entry.path().filename();
        if (name.rfind(kDirPrefix, 0) != 0)
            continue;
        const std::string pid_text = name.substr(kDirPrefix.size());
        if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const int pid = std::stoi(pid_text);
        if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        remove_lab_leftovers(entry.path(), netns_for(pid));
    }
}

} // namespace

SwarmLab::SwarmLab() {
    remove_orphaned_labs();
    const int pid = ::getpid();
    dir_ = fs::path("/tmp") / (std::string(kDirPrefix) + std::to_string(pid));
    netns_ = netns_for(pid);
    socket_ = (dir_ / "docker.sock").string();
    try {
        remove_lab_leftovers(dir_, netns_);
        fs::create_directories(dir_);
        if (!fs::exists(kDockerd))
            throw std::runtime_error(std::string(kDockerd) +
                                     " is not installed: run ./scripts/install-deps (docker.io)");
        // The node's address: a veth pair inside the namespace (no dummy module here), up.
        run_ok({"ip", "netns", "add", netns_});
        run_ok({"ip", "-n", netns_, "link", "set", "lo", "up"});
        run_ok({"ip", "-n", netns_, "link", "add", "fwnode0", "type", "veth", "peer", "name",
                "fwnode1"});
        run_ok({"ip", "-n", netns_, "addr", "add", std::string(kAdvertiseAddress) + "/24", "dev",
                "fwnode0"});
        run_ok({"ip", "-n", netns_, "link", "set", "fwnode0", "up"});
        run_ok({"ip", "-n", netns_, "link", "set", "fwnode1", "up"});
        start_dockerd();
        docker_ok({"swarm", "init", "--advertise-addr", kAdvertiseAddress, "--listen-addr",
                   std::string(kAdvertiseAddress) + ":2377", "--default-addr-pool",
                   "198.18.204.0/22", "--default-addr-pool-mask-length", "24"});
    } catch (...) {
        teardown();
        throw;
    }
}

SwarmLab::~SwarmLab() {
    teardown();
}

std::string SwarmLab::netns_path() const {
    return Lab::netns_path(netns_);
}

void SwarmLab::start_dockerd() {
    const std::string d = dir_.string();
    std::vector<std::string> args = {kDockerd,
                                     "--host",
                                     "unix://" + socket_,
                                     "--data-root",
                                     d + "/data",
                                     "--exec-root",
                                     d + "/exec",
                                     "--pidfile",
                                     d + "/docker.pid",
                                     "--bip",
                                     "198.18.201.1/24",
                                     "--default-address-pool",
                                     "base=198.18.202.0/23,size=24",
                                     "--containerd-namespace",
                                     "flowwall-swarm",
                                     "--containerd-plugins-namespace",
                                     "flowwall-swarm-plugins",
                                     "--shutdown-timeout",
                                     "2"};
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log_path = d + "/dockerd.log";
    const std::string netns_file = netns_path();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Own session: the test's terminal signals do not reach it; the destructor stops it.
        ::setsid();
        const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (log_fd < 0 || null_fd < 0)
            ::_exit(126);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        const int netns_fd = ::open(netns_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0 || ::setns(netns_fd, CLONE_NEWNET) != 0) {
            ::perror("swarm lab: enter the lab's network namespace");
            ::_exit(126);
        }
        ::execv(argv[0], argv.data());
        ::perror("swarm lab: exec dockerd");
        ::_exit(127);
    }
    dockerd_pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (docker_answers(socket_, 500ms))
            return;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            dockerd_pid_ = -1;
            throw std::runtime_error("the swarm lab's dockerd exited at start; its log:\n" + log());
        }
        std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("the swarm lab's dockerd did not answer within 30 s; its log:\n" +
                             log());
}

void SwarmLab::stop_dockerd() noexcept {
    if (dockerd_pid_ <= 0)
        return;
    ::kill(dockerd_pid_, SIGTERM);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 200 && !exited; ++i) {
        exited = ::waitpid(dockerd_pid_, &status, WNOHANG) == dockerd_pid_;
        if (!exited)
            std::this_thread::sleep_for(100ms);
    }
    if (!exited) {
        ::kill(dockerd_pid_, SIGKILL);
        ::waitpid(dockerd_pid_, &status, 0);
    }
    dockerd_pid_ = -1;
}

void SwarmLab::leave_swarm() noexcept {
    try {
        if (dockerd_pid_ <= 0 || !docker_answers(socket_, 1s))
            return;
        // In this order: services (their tasks go), the networks the test made, the swarm
        // itself (which takes the ingress network and the swarm state), what containers remain.
        ExecResult services = docker({"service", "ls", "--quiet"});
        std::istringstream ids(services.out);
        std::vector<std::string> rm = {"service", "rm"};
        for (std::string id; ids >> id;)
            rm.push_back(id);
        if (rm.size() > 2)
            (void)docker(rm);
        for (const auto& network : networks_)
            (void)docker({"network", "rm", network});
        networks_.clear();
        (void)docker({"swarm", "leave", "--force"});
        ExecResult containers = docker({"ps", "--all", "--quiet"});
        std::istringstream left(containers.out);
        std::vector<std::string> force = {"rm", "--force"};
        for (std::string id; left >> id;)
            force.push_back(id);
        if (force.size() > 2)
            (void)docker(force);
    } catch (...) {
    }
}

void SwarmLab::teardown() noexcept {
    leave_swarm();
    stop_dockerd();
    remove_lab_leftovers(dir_, netns_);
}

ExecResult SwarmLab::docker(const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout) const {
    std::vector<std::string> argv = {docker_binary(), "--host", "unix://" + socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return Lab::exec("", argv, timeout);
}

std::string SwarmLab::docker_ok(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout) const {
    ExecResult result = docker(args, timeout);
    if (!result.ok())
        throw std::runtime_error("docker " + join(args) + " failed" +
                                 (result.timed_out ? " (timed out)" : "") + ": " +
                                 trim(result.err) + "\ndockerd's log:\n" + log());
    return trim(result.out);
}

void SwarmLab::import_image(const std::string& name) const {
    ensure_busybox_image(name, socket_);
}

std::string SwarmLab::create_overlay_network(const std::string& name) {
    networks_.push_back(name);
    docker_ok({"network", "create", "--driver", "overlay", "--subnet", kOverlaySubnet, name});
    return name;
}

std::string SwarmLab::create_service(const std::string& name, const std::string& network,
                                     const std::string& image,
                                     const std::vector<std::string>& command) {
    std::vector<std::string> args = {"service",         "create", "--detach",  "--quiet",
                                     "--name",          name,     "--network", network,
                                     "--endpoint-mode", "dnsrr",  image};
    args.insert(args.end(), command.begin(), command.end());
    docker_ok(args);
    // The task's container, once it runs (swarm first tries to pull the image, which fails at
    // once here: no route out of the lab's namespace, so the local image is used).
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        ExecResult found =
            docker({"ps", "--quiet", "--no-trunc", "--filter",
                    "label=com.docker.swarm.service.name=" + name, "--filter", "status=running"});
        std::istringstream ids(found.out);
        std::string id;
        if (found.ok() && ids >> id)
            return id;
        std::this_thread::sleep_for(100ms);
    }
    throw std::runtime_error("no task of service " + name + " runs after 30 s:\n" +
                             docker({"service", "ps", "--no-trunc", name}).out);
}

std::string SwarmLab::task_address(const std::string& container, const std::string& network) const {
    return docker_ok(
        {"inspect", "--type", "container", "--format",
         "{{with index .NetworkSettings.Networks \"" + network + "\"}}{{.IPAddress}}{{end}}",
         container});
}

std::string SwarmLab::log() const {
    std::string text = read_text(dir_ / "dockerd.log");
    constexpr size_t kTail = 4000;
    return text.size() > kTail ? "..." + text.substr(text.size() - kTail) : text;
}

} // namespace flowwall::testing
