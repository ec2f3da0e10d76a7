// SPDX-License-Identifier: Apache-2.0
// How fast a started container's addresses reach the kernel's ipcache, and what the daemon's
// memory costs per container. Against a real dockerd and a real flowwalld:
//
//   start_call: POST /containers/{id}/start until Docker answers (the baseline: Docker's own
//               time to start the container, measured in the same loop)
//   ipcache:    from the same instant until the container's address is in the pinned
//               ipcache map (polled every 200 us)
//
// Addresses are fixed at create time (--ip) so the poll knows what to look for before the
// container exists. RSS: the daemon's VmRSS with no container and with all of them running.
//
//   docker_start_bench [--starts 50] [--json]
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/support/docker_host.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

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

bool start_container(const std::string& id) {
    CURL* curl = curl_easy_init();
    std::string url = "http://docker/v1.41/containers/" + id + "/start";
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, kDockerSocket);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode result = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return result == CURLE_OK && status == 204;
}

double ms(Clock::duration duration) {
    return std::chrono::duration<double, std::milli>(duration).count();
}

struct Summary {
    double median = 0, p90 = 0, worst = 0;
};

Summary summarize(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return {values[values.size() / 2], values[values.size() * 9 / 10], values.back()};
}

} // namespace

int main(int argc, char** argv) {
    int starts = 50;
    bool as_json = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--starts" && i + 1 < argc)
            starts = std::stoi(argv[++i]);
        else if (arg == "--json")
            as_json = true;
        else {
            std::fprintf(stderr, "usage: %s [--starts N (1..200)] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (starts < 1 || starts > 200) {
        std::fprintf(stderr, "--starts must be 1..200 (one /24 holds the containers)\n");
        return 2;
    }
    try {
        ensure_dockerd();
        ensure_busybox_image("flowwall-test/web:1");
        DockerScope scope;
        std::string subnet;
        std::string network = scope.create_network("bench", &subnet);
        std::string base = subnet.substr(0, subnet.rfind('.') + 1); // "198.18.64."

        DaemonProcess daemon({"--log-level", "info"});
        daemon.start();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        long rss_idle = rss_kib(daemon.pid());

        std::vector<double> start_call, ipcache;
        for (int i = 0; i < starts; ++i) {
            std::string ip = base + std::to_string(10 + i);
            std::string id =
                scope.create("c" + std::to_string(i), {"--network", network, "--ip", ip,
                                                       "flowwall-test/web:1", "sleep", "3600"});
            auto t0 = Clock::now();
            if (!start_container(id))
                throw std::runtime_error("docker could not start container " + id);
            auto started = Clock::now();
            auto deadline = t0 + std::chrono::seconds(5);
            while (!pinned_ipcache_identity(daemon.pin_dir(), ip) && Clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            auto seen = Clock::now();
            if (seen >= deadline)
                throw std::runtime_error(ip + " not in the ipcache after 5 s");
            start_call.push_back(ms(started - t0));
            ipcache.push_back(ms(seen - t0));
        }
        // Wait until every container's interface is guarded, then weigh the daemon.
        eventually(
            [&] {
                return daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") ==
                       starts;
            },
            std::chrono::seconds(10));
        long rss_loaded = rss_kib(daemon.pid());

        Summary call = summarize(start_call), seen = summarize(ipcache);
        nlohmann::json result = {
            {"starts", starts},
            {"start_call_ms", {{"median", call.median}, {"p90", call.p90}, {"worst", call.worst}}},
            {"ipcache_ms", {{"median", seen.median}, {"p90", seen.p90}, {"worst", seen.worst}}},
            {"after_start_call_ms_median", seen.median - call.median},
            {"rss_kib", {{"idle", rss_idle}, {"with_containers", rss_loaded}}},
            {"rss_ratio", static_cast<double>(rss_loaded) / static_cast<double>(rss_idle)}};
        if (as_json) {
            std::cout << result.dump(2) << '\n';
        } else {
            std::printf("%d container starts\n", starts);
            std::printf("  docker start call   median %7.1f ms  p90 %7.1f  worst %7.1f\n",
                        call.median, call.p90, call.worst);
            std::printf("  address in ipcache  median %7.1f ms  p90 %7.1f  worst %7.1f\n",
                        seen.median, seen.p90, seen.worst);
            std::printf("flowwalld RSS: %ld KiB idle, %ld KiB with %d containers (x%.2f)\n",
                        rss_idle, rss_loaded, starts,
                        static_cast<double>(rss_loaded) / static_cast<double>(rss_idle));
        }
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "docker_start_bench: %s\n", error.what());
        return 1;
    }
}
