// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/stress/stress_lab.h"

#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace flowwall::testing {

StressLab::StressLab(int clients) {
    Lab::remove_stale();
    server_ = &lab_.add_workload("server");
    for (int i = 1; i <= clients; ++i)
        clients_.push_back(&lab_.add_workload("client-" + std::to_string(i)));
    nlohmann::json endpoints = nlohmann::json::array();
    std::vector<const Workload*> all = clients_;
    all.push_back(server_);
    for (const Workload* w : all)
        endpoints.push_back({{"name", w->name},
                             {"identity", w->name},
                             {"netns", w->netns_path},
                             {"addresses", {w->v4.str()}}});
    std::ofstream(dir_.path() / "endpoints.json") << nlohmann::json{{"endpoints", endpoints}};
}

std::vector<std::string> StressLab::daemon_args() const {
    return {"--docker", "false", "--endpoints-file", (dir_.path() / "endpoints.json").string()};
}

int udp_burst(const Workload& from, const Address& to, uint16_t first_port, int ports) {
    int sent = 0;
    Lab::run_in_netns(from.netns_path, [&] {
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return;
        sockaddr_in destination{};
        destination.sin_family = AF_INET;
        std::memcpy(&destination.sin_addr, to.bytes.data(), 4);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        const char payload[] = "flood";
        for (int i = 0; i < ports && std::chrono::steady_clock::now() < deadline; ++i) {
            destination.sin_port = htons(static_cast<uint16_t>(first_port + i));
            if (::sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&destination),
                         sizeof(destination)) > 0)
                ++sent;
        }
        ::close(fd);
    });
    return sent;
}

int udp_burst_from(const Workload& from, const Address& to, uint16_t port, uint16_t first_source,
                   int sources) {
    int sent = 0;
    Lab::run_in_netns(from.netns_path, [&] {
        sockaddr_in destination{};
        destination.sin_family = AF_INET;
        destination.sin_port = htons(port);
        std::memcpy(&destination.sin_addr, to.bytes.data(), 4);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        const char payload[] = "flood";
        for (int i = 0; i < sources && std::chrono::steady_clock::now() < deadline; ++i) {
            int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                return;
            sockaddr_in source{};
            source.sin_family = AF_INET;
            source.sin_port = htons(static_cast<uint16_t>(first_source + i));
            if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) == 0 &&
                ::sendto(fd, payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&destination),
                         sizeof(destination)) > 0)
                ++sent;
            ::close(fd);
        }
    });
    return sent;
}

double metric(const DaemonProcess& daemon, const std::string& sample) {
    auto [status, text] = daemon.web_get("/metrics");
    if (status != 200)
        return -1;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind(sample + " ", 0) == 0)
            return std::stod(line.substr(sample.size() + 1));
    return -1;
}

long resident_kib(const DaemonProcess& daemon) {
    std::ifstream status("/proc/" + std::to_string(daemon.pid()) + "/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 12, '\n');
    }
    return -1;
}

} // namespace flowwall::testing
