// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/stress/stress_lab.h"

#include "src/common/unique_fd.h"

#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
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

namespace {

// One datagram per flow i < count, to `to` on dst_port(i): from source port src_port(i) on a
// socket of its own, or, without src_port, all from one socket with a port of the kernel's
// choosing. Bounded by count and 20 s; returns how many were handed to the kernel.
int send_flows(const Workload& from, const Address& to, int count,
               const std::function<uint16_t(int)>& dst_port,
               const std::function<uint16_t(int)>& src_port = {}) {
    int sent = 0;
    Lab::run_in_netns(from.netns_path, [&] {
        auto ipv4 = [](const Address& address, uint16_t port) {
            sockaddr_in socket_address{};
            socket_address.sin_family = AF_INET;
            socket_address.sin_port = htons(port);
            std::memcpy(&socket_address.sin_addr, address.bytes.data(), 4);
            return socket_address;
        };
        const Address any = Address::v4("0.0.0.0");
        UniqueFd shared;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        const char payload[] = "flood";
        for (int i = 0; i < count && std::chrono::steady_clock::now() < deadline; ++i) {
            UniqueFd own;
            UniqueFd& fd = src_port ? own : shared;
            if (!fd.valid()) {
                fd = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
                if (src_port) {
                    sockaddr_in source = ipv4(any, src_port(i));
                    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0)
                        continue;
                }
            }
            sockaddr_in destination = ipv4(to, dst_port(i));
            if (::sendto(fd.get(), payload, sizeof(payload), 0,
                         reinterpret_cast<sockaddr*>(&destination), sizeof(destination)) > 0)
                ++sent;
        }
    });
    return sent;
}

} // namespace

int udp_burst(const Workload& from, const Address& to, uint16_t first_port, int ports) {
    return send_flows(from, to, ports,
                      [first_port](int i) { return static_cast<uint16_t>(first_port + i); });
}

int udp_burst_from(const Workload& from, const Address& to, uint16_t port, uint16_t first_source,
                   int sources) {
    return send_flows(
        from, to, sources, [port](int) { return port; },
        [first_source](int i) { return static_cast<uint16_t>(first_source + i); });
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
