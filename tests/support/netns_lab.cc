// SPDX-License-Identifier: Apache-2.0
#include "tests/support/netns_lab.h"

#include "src/common/unique_fd.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace flowwall::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kNetnsDir = "/run/netns";
constexpr std::size_t kMaxIfnameLength = IFNAMSIZ - 1;
constexpr std::size_t kMaxWorkloadNameLength = 32;
constexpr unsigned kSubnetCount = 512; // /24s in 198.18.0.0/15
constexpr int kLastHost = 254;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string join(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& arg : argv) {
        text += text.empty() ? "" : " ";
        text += arg;
    }
    return text;
}

// Runs a setup command in the caller's namespace; a failure stops the lab from being built.
void run(const std::vector<std::string>& argv) {
    const ExecResult result = Lab::exec("", argv);
    if (!result.ok()) {
        throw std::runtime_error("`" + join(argv) + "` failed" +
                                 (result.timed_out ? " (timed out)" : "") + ": " + result.err);
    }
}

// Best effort, for teardown: reports but never throws, so one failure cannot stop the rest.
bool run_quietly(const std::vector<std::string>& argv) {
    try {
        const ExecResult result = Lab::exec("", argv);
        if (result.ok()) {
            return true;
        }
        std::cerr << "netns_lab: `" << join(argv) << "` failed: " << result.err << '\n';
    } catch (const std::exception& e) {
        std::cerr << "netns_lab: `" << join(argv) << "`: " << e.what() << '\n';
    }
    return false;
}

// Writes /proc/sys/net/<key> as seen from inside the namespace: /proc/sys/net resolves against
// the writing thread's network namespace, so the host's settings stay untouched.
void write_sysctls(const std::string& netns_path,
                   const std::vector<std::pair<std::string, std::string>>& settings) {
    Lab::run_in_netns(netns_path, [&] {
        for (const auto& [key, value] : settings) {
            const std::string path = "/proc/sys/net/" + key;
            UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (fd.get() < 0 || ::write(fd.get(), value.data(), value.size()) < 0) {
                throw_errno("write " + path);
            }
        }
    });
}

int ifindex_in(const std::string& netns_path, const std::string& ifname) {
    unsigned index = 0;
    Lab::run_in_netns(netns_path, [&] { index = ::if_nametoindex(ifname.c_str()); });
    if (index == 0) {
        throw std::runtime_error("no interface " + ifname + " in " + netns_path);
    }
    return static_cast<int>(index);
}

bool valid_workload_name(const std::string& name) {
    return !name.empty() && name.size() <= kMaxWorkloadNameLength && name != "hub" &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
           });
}

bool in_lab_v4_range(const Address& a) {
    return a.family() == AF_INET && a.bytes[0] == 198 && (a.bytes[1] & 0xfe) == 18;
}

bool in_lab_v6_range(const Address& a) {
    return a.family() == AF_INET6 && a.bytes[0] == 0xfd;
}

// Host `host` of the lab's /24 and /64.
Address subnet_v4(unsigned subnet, int host) {
    return Address::v4("198." + std::to_string(18 + subnet / 256) + "." +
                       std::to_string(subnet % 256) + "." + std::to_string(host));
}

Address subnet_v6(unsigned subnet, int host) {
    std::array<char, 64> text{};
    std::snprintf(text.data(), text.size(), "fd00:198:18:%x::%x", subnet, host);
    return Address::v6(text.data());
}

} // namespace

Lab::Lab() : Lab(Options{}) {}

Lab::Lab(Options options) {
    if (::geteuid() != 0) {
        throw std::runtime_error("Lab needs root: creates network namespaces");
    }
    if (options.subnet && *options.subnet >= kSubnetCount) {
        throw std::invalid_argument("Lab: subnet must be 0-511");
    }
    lock_ = std::make_unique<LabPrefix>(LabPrefix::acquire(kPrefixBase));
    prefix_ = lock_->name();
    // We hold the lock for this prefix, so anything already named after it is a leftover of a
    // crashed process that had the same pid (mod 10000) and counter.
    remove_lab_leftovers(prefix_, /*spare_live=*/false);

    subnet_ = options.subnet.value_or(
        static_cast<unsigned>(std::stoul(prefix_.substr(kPrefixBase.size()))) % kSubnetCount);
    gateway_v4_ = subnet_v4(subnet_, 1);
    gateway_v6_ = subnet_v6(subnet_, 1);
    try {
        build_hub();
    } catch (...) {
        teardown();
        throw;
    }
}

Lab::~Lab() {
    teardown();
}

void Lab::build_hub() {
    hub_netns_ = prefix_ + "-hub";
    run({"ip", "netns", "add", hub_netns_});
    created_netns_.push_back(hub_netns_);
    run({"ip", "-n", hub_netns_, "link", "set", "lo", "up"});
    // DAD off by default, before any veth arrives: besides our own addresses (added nodad),
    // the kernel's link-local ones would stay tentative for a second or two, and until then
    // the hub cannot send the neighbour solicitations it needs to forward IPv6.
    write_sysctls(hub_netns_path(), {
                                        {"ipv4/ip_forward", "1"},
                                        {"ipv6/conf/all/forwarding", "1"},
                                        {"ipv6/conf/all/accept_dad", "0"},
                                        {"ipv6/conf/default/accept_dad", "0"},
                                    });
}

std::string Lab::netns_path(const std::string& netns) {
    return std::string(kNetnsDir) + "/" + netns;
}

const Workload& Lab::add_workload(const std::string& name) {
    const auto used = [&](const Address& v4, const Address& v6) {
        return std::any_of(workloads_.begin(), workloads_.end(),
                           [&](const Workload& w) { return w.v4 == v4 || w.v6 == v6; });
    };
    // Skip hosts that explicitly addressed workloads already took.
    while (next_host_ <= kLastHost &&
           used(subnet_v4(subnet_, next_host_), subnet_v6(subnet_, next_host_))) {
        ++next_host_;
    }
    if (next_host_ > kLastHost) {
        throw std::runtime_error("Lab: no free address left in the lab's /24");
    }
    const int host = next_host_++;
    return add_workload(name, subnet_v4(subnet_, host), subnet_v6(subnet_, host));
}

const Workload& Lab::add_workload(const std::string& name, const Address& v4, const Address& v6) {
    if (!valid_workload_name(name)) {
        throw std::invalid_argument("Lab: bad workload name '" + name +
                                    "' (want [a-z0-9_-], 1-32 chars, not 'hub')");
    }
    if (!in_lab_v4_range(v4) || !in_lab_v6_range(v6)) {
        throw std::invalid_argument("Lab: workload addresses must be in 198.18.0.0/15 and "
                                    "fd00::/8, got " +
                                    v4.str() + " and " + v6.str());
    }
    if (v4 == gateway_v4_ || v6 == gateway_v6_) {
        throw std::invalid_argument("Lab: " + v4.str() + " / " + v6.str() +
                                    " collides with the gateway");
    }
    for (const auto& other : workloads_) {
        if (other.name == name || other.v4 == v4 || other.v6 == v6) {
            throw std::invalid_argument("Lab: workload " + name + " collides with " + other.name +
                                        " (name or address)");
        }
    }

    const int index = static_cast<int>(workloads_.size()) + 1;
    Workload workload;
    workload.name = name;
    workload.netns = prefix_ + "-" + name;
    workload.netns_path = netns_path(workload.netns);
    workload.v4 = v4;
    workload.v6 = v6;
    workload.ifname = "eth0";
    workload.hub_ifname = prefix_ + std::to_string(index) + "h";
    workload.hub_netns_path = hub_netns_path();
    if (workload.hub_ifname.size() > kMaxIfnameLength) {
        throw std::runtime_error("Lab: too many workloads for 15-character interface names");
    }

    try {
        build_workload(workload);
    } catch (...) {
        // Deleting the namespace also deletes the veth pair, hub end included.
        if (std::find(created_netns_.begin(), created_netns_.end(), workload.netns) !=
            created_netns_.end()) {
            run_quietly({"ip", "netns", "del", workload.netns});
            std::erase(created_netns_, workload.netns);
        }
        throw;
    }
    return workloads_.emplace_back(std::move(workload));
}

// Routing, the same shape for both families: the workload has only a host address (/32,
// /128) and a default route via the gateway address, which it reaches through an explicit
// on-link host route on eth0. Every hub-side veth carries that same gateway address, and the
// hub has one host route per workload pointing at its veth. So each workload's traffic goes
// through the hub (never straight to a neighbour, even inside the same /24), ARP and NDP
// resolve plain addresses without proxy ARP/NDP, and the hub's FIB decides which veth a packet
// leaves by, which is where the firewall's TC programs see it.
void Lab::build_workload(Workload& w) {
    const std::string& hub = hub_netns_;
    const std::string v4 = w.v4.str();
    const std::string v6 = w.v6.str();
    const std::string gw4 = gateway_v4_.str();
    const std::string gw6 = gateway_v6_.str();

    run({"ip", "netns", "add", w.netns});
    created_netns_.push_back(w.netns);
    write_sysctls(w.netns_path, {
                                    {"ipv6/conf/all/accept_dad", "0"},
                                    {"ipv6/conf/default/accept_dad", "0"},
                                });
    // Created directly in the two lab namespaces, so no name ever appears in the host's
    // namespace, where parallel labs or the machine's own interfaces could clash with it.
    run({"ip", "-n", w.netns, "link", "add", w.ifname, "type", "veth", "peer", "name", w.hub_ifname,
         "netns", hub});

    run({"ip", "-n", w.netns, "link", "set", "lo", "up"});
    run({"ip", "-n", w.netns, "link", "set", w.ifname, "up"});
    run({"ip", "-n", w.netns, "addr", "add", v4 + "/32", "dev", w.ifname});
    run({"ip", "-n", w.netns, "-6", "addr", "add", v6 + "/128", "dev", w.ifname, "nodad"});
    run({"ip", "-n", w.netns, "route", "add", gw4 + "/32", "dev", w.ifname, "scope", "link"});
    run({"ip", "-n", w.netns, "route", "add", "default", "via", gw4, "dev", w.ifname});
    run({"ip", "-n", w.netns, "-6", "route", "add", gw6 + "/128", "dev", w.ifname});
    run({"ip", "-n", w.netns, "-6", "route", "add", "default", "via", gw6, "dev", w.ifname});

    run({"ip", "-n", hub, "link", "set", w.hub_ifname, "up"});
    run({"ip", "-n", hub, "addr", "add", gw4 + "/32", "dev", w.hub_ifname});
    run({"ip", "-n", hub, "-6", "addr", "add", gw6 + "/128", "dev", w.hub_ifname, "nodad"});
    run({"ip", "-n", hub, "route", "add", v4 + "/32", "dev", w.hub_ifname});
    run({"ip", "-n", hub, "-6", "route", "add", v6 + "/128", "dev", w.hub_ifname});

    w.ifindex = ifindex_in(w.netns_path, w.ifname);
    w.hub_ifindex = ifindex_in(hub_netns_path(), w.hub_ifname);
}

const Workload& Lab::workload(const std::string& name) const {
    for (const auto& w : workloads_) {
        if (w.name == name) {
            return w;
        }
    }
    throw std::out_of_range("Lab: no workload named " + name);
}

void Lab::teardown() noexcept {
    // Workloads first: deleting a workload namespace removes its veth pair, so the hub is
    // empty when it goes.
    for (auto it = created_netns_.rbegin(); it != created_netns_.rend(); ++it) {
        run_quietly({"ip", "netns", "del", *it});
    }
    created_netns_.clear();
    lock_.reset();
}

std::size_t Lab::remove_stale(const std::string& prefix) {
    if (prefix.empty()) {
        throw std::invalid_argument("Lab::remove_stale: empty prefix would match everything");
    }
    return remove_lab_leftovers(prefix, /*spare_live=*/true);
}

void Lab::run_in_netns(const std::string& netns_path, const std::function<void()>& fn) {
    std::exception_ptr error;
    std::thread worker([&] {
        try {
            UniqueFd fd(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
            if (fd.get() < 0) {
                throw_errno("open " + netns_path);
            }
            if (::setns(fd.get(), CLONE_NEWNET) != 0) {
                throw_errno("setns " + netns_path);
            }
            fn();
        } catch (...) {
            error = std::current_exception();
        }
    });
    worker.join();
    if (error) {
        std::rethrow_exception(error);
    }
}

ExecResult Lab::exec(const std::string& netns, const std::vector<std::string>& argv,
                     milliseconds timeout) {
    if (argv.empty()) {
        throw std::invalid_argument("Lab::exec: empty argv");
    }
    // `ip netns exec` rather than setns in the child: it also gives the command the
    // namespace's view of /sys, and it is safe to start from a multi-threaded process.
    std::vector<std::string> full;
    if (!netns.empty()) {
        full = {"ip", "netns", "exec", netns};
    }
    full.insert(full.end(), argv.begin(), argv.end());
    std::vector<char*> cargv;
    for (auto& arg : full) {
        cargv.push_back(arg.data());
    }
    cargv.push_back(nullptr);

    std::array<int, 2> out_pipe{};
    std::array<int, 2> err_pipe{};
    if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) {
        throw_errno("pipe2");
    }
    UniqueFd out_read(out_pipe[0]);
    UniqueFd out_write(out_pipe[1]);
    if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        throw_errno("pipe2");
    }
    UniqueFd err_read(err_pipe[0]);
    UniqueFd err_write(err_pipe[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
    // Own process group, so a timeout kills the command and anything it started.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t no_signals;
    sigemptyset(&no_signals);
    posix_spawnattr_setsigmask(&attr, &no_signals);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);

    pid_t pid = -1;
    const int spawn_error = ::posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    out_write.reset();
    err_write.reset();
    if (spawn_error != 0) {
        throw std::system_error(spawn_error, std::generic_category(), "start " + full[0]);
    }

    ExecResult result;
    const auto deadline = Clock::now() + timeout;
    const auto remaining_ms = [&] {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        return static_cast<int>(std::max<milliseconds::rep>(0, left.count()));
    };

    std::array<std::pair<UniqueFd*, std::string*>, 2> streams{
        {{&out_read, &result.out}, {&err_read, &result.err}}};
    while (!result.timed_out && (out_read.get() >= 0 || err_read.get() >= 0)) {
        std::array<pollfd, 2> fds{};
        for (std::size_t i = 0; i < streams.size(); ++i) {
            fds[i] = {streams[i].first->get(), POLLIN, 0}; // poll ignores negative fds
        }
        const int ready = ::poll(fds.data(), fds.size(), remaining_ms());
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            result.timed_out = true;
            break;
        }
        for (std::size_t i = 0; i < streams.size(); ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            std::array<char, 4096> buffer{};
            const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
            if (n > 0) {
                streams[i].second->append(buffer.data(), static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                streams[i].first->reset();
            }
        }
    }

    // The command may close its output and keep running; the same deadline applies.
    int status = 0;
    for (;;) {
        if (result.timed_out) {
            ::kill(-pid, SIGKILL);
        }
        const pid_t done = ::waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
        if (done == pid) {
            break;
        }
        if (done < 0 && errno != EINTR) {
            throw_errno("waitpid");
        }
        if (done == 0) {
            if (remaining_ms() == 0) {
                result.timed_out = true;
            } else {
                std::this_thread::sleep_for(milliseconds(2));
            }
        }
    }
    result.exit_code = WIFEXITED(status) && !result.timed_out ? WEXITSTATUS(status) : -1;
    return result;
}

} // namespace flowwall::testing
