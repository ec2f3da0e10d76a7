// SPDX-License-Identifier: Apache-2.0
#include "tests/support/docker_host.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace flowwall::testing {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kDockerd = "/usr/sbin/dockerd";
constexpr const char* kBusybox = "/bin/busybox";
constexpr const char* kOwnerLabel = "flowwall-test.owner";

std::string trim(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::string join(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args)
        out += (out.empty() ? "" : " ") + a;
    return out;
}

std::string log_tail(const std::string& path, size_t bytes = 3000) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string all = text.str();
    return all.size() > bytes ? "..." + all.substr(all.size() - bytes) : all;
}

bool pid_alive(long pid) {
    return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
}

// Starts dockerd detached (own session, so the test's process group and terminal signals do
// not reach it) with stdout and stderr in `log`. Returns its pid.
pid_t spawn_dockerd(const std::string& log) {
    std::vector<std::string> argv = {kDockerd, "--bip", "198.18.250.1/24", "--default-address-pool",
                                     "base=198.18.128.0/17,size=24"};
    std::vector<char*> cargv;
    for (auto& a : argv)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    pid_t pid = -1;
    const int err = ::posix_spawn(&pid, kDockerd, &actions, &attr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0)
        throw std::runtime_error(std::string("cannot start ") + kDockerd + ": " +
                                 std::strerror(err));
    return pid;
}

} // namespace

bool docker_answers(const std::string& socket_path, std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        const std::string request = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
            char buf[1024];
            ssize_t n;
            while (reply.size() < 4096 && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
                reply.append(buf, size_t(n));
        }
    }
    ::close(fd);
    return reply.starts_with("HTTP/1.") && reply.find(" 200 ") != std::string::npos &&
           reply.ends_with("OK");
}

void ensure_dockerd() {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    if (docker_answers())
        return;
    if (!fs::exists(kDockerd))
        throw std::runtime_error(std::string("no Docker daemon answers on ") + kDockerSocket +
                                 " and " + kDockerd +
                                 " is not installed: run ./scripts/install-deps (docker.io)");
    if (::geteuid() != 0)
        throw std::runtime_error("no Docker daemon answers and starting one needs root");
    char log_template[] = "/tmp/flowwall-dockerd-XXXXXX.log";
    const int log_fd = ::mkstemps(log_template, 4);
    if (log_fd < 0)
        throw std::runtime_error(std::string("mkstemps: ") + std::strerror(errno));
    ::close(log_fd);
    const std::string log = log_template;
    // Left running when the test ends: later suites of the same ctest run use it, and
    // starting dockerd costs seconds. Its children (containerd) would outlive a kill anyway.
    const pid_t pid = spawn_dockerd(log);
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + 30s;
    std::optional<Clock::time_point> exited;
    while (Clock::now() < deadline) {
        if (docker_answers(kDockerSocket, 500ms))
            return;
        int status = 0;
        if (!exited && ::waitpid(pid, &status, WNOHANG) == pid)
            exited = Clock::now();
        // Ours exiting may mean another test process started one a moment earlier (dockerd
        // holds a pid file lock): give that one a few seconds to answer.
        if (exited && Clock::now() - *exited > 5s)
            break;
        std::this_thread::sleep_for(100ms);
    }
    if (docker_answers())
        return;
    throw std::runtime_error(std::string(kDockerd) + (exited ? " exited" : " did not answer") +
                             " within 30 s; log " + log + ":\n" + log_tail(log));
}

const std::string& docker_binary() {
    static const std::string binary =
        fs::exists("/usr/bin/docker") ? "/usr/bin/docker" : "/usr/local/bin/docker";
    return binary;
}

ExecResult docker(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv = {docker_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Lab::exec("", argv, timeout);
}

std::string docker_ok(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    ExecResult result = docker(args, timeout);
    if (!result.ok())
        throw std::runtime_error("docker " + join(args) + " failed" +
                                 (result.timed_out ? " (timed out)" : "") + ": " +
                                 trim(result.err));
    return trim(result.out);
}

void ensure_busybox_image(const std::string& name, const std::string& socket) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    const std::string host = "unix://" + socket;
    if (docker({"--host", host, "image", "inspect", "--format", "{{.Id}}", name}).ok())
        return;
    if (!fs::exists(kBusybox))
        throw std::runtime_error(std::string(kBusybox) +
                                 " is missing: run ./scripts/install-deps (busybox-static)");
    char dir_template[] = "/tmp/flowwall-busybox-XXXXXX";
    if (!::mkdtemp(dir_template))
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    const fs::path dir = dir_template;
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
    } cleanup{dir};
    const fs::path root = dir / "rootfs";
    for (const char* sub : {"bin", "etc", "tmp", "proc", "sys", "dev", "root"})
        fs::create_directories(root / sub);
    fs::copy_file(kBusybox, root / "bin/busybox");
    // Every applet this busybox has, as a relative link, so "sh", "nc", "ip" and the rest
    // resolve inside the image whatever path the host's busybox lives at.
    ExecResult applets = Lab::exec("", {kBusybox, "--list"}, 10s);
    if (!applets.ok())
        throw std::runtime_error(std::string(kBusybox) + " --list failed: " + applets.err);
    std::istringstream list(applets.out);
    for (std::string applet; std::getline(list, applet);) {
        if (!applet.empty() && applet != "busybox" && applet.find('/') == std::string::npos)
            fs::create_symlink("busybox", root / "bin" / applet);
    }
    std::ofstream(root / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
    std::ofstream(root / "etc/group") << "root:x:0:\n";
    const std::string tar = (dir / "rootfs.tar").string();
    ExecResult packed = Lab::exec("", {"tar", "-C", root.string(), "-cf", tar, "."}, 60s);
    if (!packed.ok())
        throw std::runtime_error("tar of the busybox rootfs failed: " + packed.err);
    docker_ok({"--host", host, "import", "--change", "ENV PATH=/bin", tar, name}, 120s);
}

std::string container_id(const std::string& name_or_id) {
    return docker_ok({"inspect", "--type", "container", "--format", "{{.Id}}", name_or_id});
}

std::string container_ip(const std::string& name_or_id, const std::string& network) {
    const std::string format =
        network.empty()
            ? "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
            : "{{with index .NetworkSettings.Networks \"" + network + "\"}}{{.IPAddress}}{{end}}";
    std::istringstream out(
        docker_ok({"inspect", "--type", "container", "--format", format, name_or_id}));
    std::string ip;
    out >> ip;
    return ip;
}

DockerScope::DockerScope() : prefix_("fwt-" + std::to_string(::getpid()) + "-") {
    remove_stale();
}

DockerScope::~DockerScope() {
    if (!containers_.empty()) {
        std::vector<std::string> args = {"rm", "--force", "--volumes"};
        args.insert(args.end(), containers_.begin(), containers_.end());
        docker(args);
    }
    for (auto it = networks_.rbegin(); it != networks_.rend(); ++it)
        docker({"network", "rm", *it});
}

std::string DockerScope::name(const std::string& base) const {
    return prefix_ + base;
}

std::string DockerScope::create_network(const std::string& base, std::string* subnet_out) {
    const std::string network = name(base);
    std::string last_error;
    // 198.18.64.0/18: below the pool dockerd allocates from (198.18.128.0/17), so a network
    // another test lets dockerd place never takes the subnet we ask for.
    for (int third = 64; third < 128; ++third) {
        const std::string subnet = "198.18." + std::to_string(third) + ".0/24";
        ExecResult result =
            docker({"network", "create", "--driver", "bridge", "--subnet", subnet, "--label",
                    std::string(kOwnerLabel) + "=" + std::to_string(::getpid()), network});
        if (result.ok()) {
            networks_.push_back(network);
            if (subnet_out)
                *subnet_out = subnet;
            return network;
        }
        last_error = trim(result.err);
        if (last_error.find("overlap") == std::string::npos)
            break;
    }
    throw std::runtime_error("docker network create " + network + " failed: " + last_error);
}

std::string DockerScope::run(const std::string& base, const std::vector<std::string>& args) {
    const std::string container = name(base);
    std::vector<std::string> full = {
        "run",     "--detach", "--name",
        container, "--label",  std::string(kOwnerLabel) + "=" + std::to_string(::getpid())};
    full.insert(full.end(), args.begin(), args.end());
    // Tracked before it runs: a failing start can leave a created container behind.
    containers_.push_back(container);
    return docker_ok(full);
}

std::string DockerScope::create(const std::string& base, const std::vector<std::string>& args) {
    const std::string container = name(base);
    std::vector<std::string> full = {"create", "--name", container, "--label",
                                     std::string(kOwnerLabel) + "=" + std::to_string(::getpid())};
    full.insert(full.end(), args.begin(), args.end());
    containers_.push_back(container);
    return docker_ok(full);
}

void DockerScope::remove_container(const std::string& name_or_id) {
    docker_ok({"rm", "--force", name_or_id});
    std::erase(containers_, name_or_id);
}

void DockerScope::remove_stale() {
    const std::string filter = std::string("label=") + kOwnerLabel;
    const std::string format = std::string("{{.ID}} {{.Label \"") + kOwnerLabel + "\"}}";
    const auto stale = [](const std::string& listing) {
        std::vector<std::string> ids;
        std::istringstream lines(listing);
        for (std::string line; std::getline(lines, line);) {
            std::istringstream fields(line);
            std::string id;
            long owner = 0;
            if (fields >> id >> owner && !pid_alive(owner))
                ids.push_back(id);
        }
        return ids;
    };
    ExecResult containers = docker({"ps", "--all", "--filter", filter, "--format", format});
    if (auto ids = stale(containers.out); containers.ok() && !ids.empty()) {
        std::vector<std::string> args = {"rm", "--force", "--volumes"};
        args.insert(args.end(), ids.begin(), ids.end());
        docker(args);
    }
    ExecResult networks = docker({"network", "ls", "--filter", filter, "--format", format});
    if (networks.ok())
        for (const auto& id : stale(networks.out))
            docker({"network", "rm", id});
}

} // namespace flowwall::testing
