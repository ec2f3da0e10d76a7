// SPDX-License-Identifier: Apache-2.0
// How fast a pod made through CRI is enforced, what the daemon's memory costs per pod, and
// what following the runtime costs when nothing happens. Against a real containerd (started
// by the bench, tests/e2e/cri/containerd_lab.h) and a real flowwalld:
//
//   runtime:  RunPodSandbox + CreateContainer + StartContainer, until StartContainer is
//             answered (the baseline: the runtime's own time, measured in the same loop)
//   enforced: from that answer until the pod's address is in the pinned ipcache and the
//             programs are attached to its host-side veth (both polled every 200 us)
//   RSS:      flowwalld's VmRSS with no pod and with --rss-pods pods
//   idle CPU: user+system time of flowwalld and of containerd over --idle-seconds with all
//             pods running and nothing changing, against containerd alone over as long
//             with flowwalld stopped (the baseline)
//
//   cri_pod_bench [--pods 50] [--rss-pods 200] [--idle-seconds 10] [--json]
#include "src/datapath/tc_attachment.h"
#include "tests/e2e/cri/containerd_lab.h"
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/pinned_maps.h"

#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

using namespace flowwall::testing;
using Clock = std::chrono::steady_clock;

namespace {

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

// utime + stime of a process in seconds.
double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14)
            utime = std::stoull(field);
        if (i == 15)
            stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double ms(Clock::duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

struct Summary {
    double median = 0, p99 = 0, worst = 0;
};

Summary summarize(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t p99 = std::min(values.size() - 1, (values.size() * 99 + 99) / 100 - 1);
    return {values[values.size() / 2], values[p99], values.back()};
}

// The host side of the pod's eth0: its peer's ifindex, as `ip link` inside the pod says.
std::string host_veth(const RunningPod& pod) {
    ExecResult result = Lab::exec(pod.netns, {"ip", "-o", "link", "show", "eth0"});
    auto at = result.out.find("eth0@if");
    if (at == std::string::npos)
        throw std::runtime_error("no veth peer for " + pod.netns + ": " + result.out);
    int ifindex = std::stoi(result.out.substr(at + 7));
    char name[IF_NAMESIZE] = {};
    if (!::if_indextoname(static_cast<unsigned>(ifindex), name))
        throw std::runtime_error("no host interface with index " + std::to_string(ifindex));
    return name;
}

bool attached(const std::string& veth) {
    auto programs =
        flowwall::datapath::tcx_program_ids({"", veth}, flowwall::datapath::TcHook::ingress);
    return programs && !programs.value().empty();
}

pid_t containerd_pid(const std::string& socket) {
    // The containerd whose config sits beside the socket.
    const std::string config = std::filesystem::path(socket).parent_path() / "config.toml";
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::ifstream in(entry.path() / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmdline.rfind("/usr/bin/containerd", 0) == 0 &&
            cmdline.find(config) != std::string::npos)
            return std::stoi(name);
    }
    throw std::runtime_error("containerd of " + socket + " not found");
}

} // namespace

int main(int argc, char** argv) {
    int pods = 50, rss_pods = 200, idle_seconds = 10;
    bool as_json = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--pods" && i + 1 < argc)
            pods = std::stoi(argv[++i]);
        else if (arg == "--rss-pods" && i + 1 < argc)
            rss_pods = std::stoi(argv[++i]);
        else if (arg == "--idle-seconds" && i + 1 < argc)
            idle_seconds = std::stoi(argv[++i]);
        else if (arg == "--json")
            as_json = true;
        else {
            std::fprintf(stderr,
                         "usage: %s [--pods N] [--rss-pods N (>= --pods, <= 240)] "
                         "[--idle-seconds N] [--json]\n",
                         argv[0]);
            return 2;
        }
    }
    if (pods < 1 || rss_pods < pods || rss_pods > 240 || idle_seconds < 1) {
        std::fprintf(stderr, "need 1 <= --pods <= --rss-pods <= 240 (one /24 holds the pods) "
                             "and --idle-seconds >= 1\n");
        return 2;
    }
    try {
        ContainerdLab lab;
        DaemonProcess daemon({"--log-level", "info", "--docker", "false", "--cri", "true",
                              "--cri-socket", lab.socket()});
        daemon.start();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        const long rss_idle = rss_kib(daemon.pid());

        std::vector<double> runtime, ipcache, enforced;
        for (int i = 0; i < rss_pods; ++i) {
            const auto t0 = Clock::now();
            RunningPod pod = lab.run_pod(PodSpec{.namespace_name = "bench",
                                                 .name = "pod-" + std::to_string(i),
                                                 .image = ContainerdLab::image("web")});
            if (i >= pods)
                continue;
            const std::string veth = host_veth(pod);
            const auto deadline = pod.ready + std::chrono::seconds(5);
            std::optional<Clock::time_point> in_ipcache, with_programs;
            while (!(in_ipcache && with_programs) && Clock::now() < deadline) {
                if (!in_ipcache && pinned_ipcache_identity(daemon.pin_dir(), pod.ip))
                    in_ipcache = Clock::now();
                if (!with_programs && attached(veth))
                    with_programs = Clock::now();
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            if (!(in_ipcache && with_programs))
                throw std::runtime_error(pod.ip + " not enforced 5 s after its pod was ready");
            runtime.push_back(ms(pod.ready - t0));
            ipcache.push_back(ms(*in_ipcache - pod.ready));
            enforced.push_back(ms(std::max(*in_ipcache, *with_programs) - pod.ready));
        }
        if (!eventually(
                [&] {
                    return daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") ==
                           rss_pods;
                },
                std::chrono::seconds(30)))
            throw std::runtime_error("not every pod got its programs");
        const long rss_loaded = rss_kib(daemon.pid());

        // Idle: nothing changes; flowwalld polls.
        const pid_t runtime_pid = containerd_pid(lab.socket());
        std::this_thread::sleep_for(std::chrono::seconds(2));
        const double daemon_cpu0 = cpu_seconds(daemon.pid());
        const double runtime_cpu0 = cpu_seconds(runtime_pid);
        std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));
        const double daemon_idle = (cpu_seconds(daemon.pid()) - daemon_cpu0) / idle_seconds;
        const double runtime_idle = (cpu_seconds(runtime_pid) - runtime_cpu0) / idle_seconds;
        // Baseline: containerd alone, flowwalld stopped (its programs stay; nothing polls).
        daemon.stop(SIGTERM);
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const double runtime_base0 = cpu_seconds(runtime_pid);
        std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));
        const double runtime_alone = (cpu_seconds(runtime_pid) - runtime_base0) / idle_seconds;

        const Summary run = summarize(runtime), seen = summarize(enforced),
                      cached = summarize(ipcache);
        nlohmann::json result = {
            {"pods", pods},
            {"runtime_ms", {{"median", run.median}, {"p99", run.p99}, {"worst", run.worst}}},
            {"ipcache_after_ready_ms",
             {{"median", cached.median}, {"p99", cached.p99}, {"worst", cached.worst}}},
            {"enforced_after_ready_ms",
             {{"median", seen.median}, {"p99", seen.p99}, {"worst", seen.worst}}},
            {"rss_kib", {{"idle", rss_idle}, {"with_pods", rss_loaded}, {"pods", rss_pods}}},
            {"idle_cpu_share_of_a_core",
             {{"flowwalld", daemon_idle},
              {"containerd_with_flowwalld", runtime_idle},
              {"containerd_alone", runtime_alone}}}};
        if (as_json) {
            std::cout << result.dump(2) << '\n';
        } else {
            std::printf("%d pods through CRI\n", pods);
            std::printf("  runtime: sandbox+create+start median %7.1f ms  p99 %7.1f  worst %7.1f\n",
                        run.median, run.p99, run.worst);
            std::printf(
                "  in ipcache after ready           median %7.1f ms  p99 %7.1f  worst %7.1f\n",
                cached.median, cached.p99, cached.worst);
            std::printf(
                "  enforced after ready             median %7.1f ms  p99 %7.1f  worst %7.1f\n",
                seen.median, seen.p99, seen.worst);
            std::printf("flowwalld RSS: %ld KiB idle, %ld KiB with %d pods (x%.2f)\n", rss_idle,
                        rss_loaded, rss_pods,
                        static_cast<double>(rss_loaded) / static_cast<double>(rss_idle));
            std::printf("idle CPU over %d s with %d pods (share of one core): flowwalld %.4f, "
                        "containerd %.4f (alone: %.4f)\n",
                        idle_seconds, rss_pods, daemon_idle, runtime_idle, runtime_alone);
        }
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "cri_pod_bench: %s\n", error.what());
        return 1;
    }
}
