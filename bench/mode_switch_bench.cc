// SPDX-License-Identifier: Apache-2.0
// Time from `flowwall mode block` to the first blocked packet, on the namespace lab with a
// real flowwalld. A prober inside `web` opens connections to db on a new port each time
// (a new flow, so the model never has it): while web learns, db's kernel answers RST at
// once (the SYN passed); once block applies, the SYN is dropped and the attempt times out.
// The latency is from just before the CLI starts to the send time of the first SYN that
// was dropped; the SYN sent before it passed, so the true switch lies between the two
// (the gap is reported too). Each round relearns, then blocks again.
//
//   mode_switch_bench [--rounds 10] [--json]
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/netns_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

using namespace flowwall::testing;
using Clock = std::chrono::steady_clock;

namespace {

enum class Outcome { passed, dropped, error };

// One SYN to ip:port from the calling thread's namespace: RST (refused) or accepted means
// it passed; no answer within 30 ms means it was dropped.
Outcome probe(const std::string& ip, uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    pollfd waiting{fd, POLLOUT, 0};
    int ready = ::poll(&waiting, 1, 30);
    ::close(fd);
    if (ready == 0)
        return Outcome::dropped;
    return ready > 0 ? Outcome::passed : Outcome::error;
}

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace

int main(int argc, char** argv) {
    int rounds = 10;
    bool as_json = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--rounds" && i + 1 < argc)
            rounds = std::clamp(std::stoi(argv[++i]), 1, 100);
        else if (arg == "--json")
            as_json = true;
        else {
            std::fprintf(stderr, "usage: %s [--rounds N (1..100)] [--json]\n", argv[0]);
            return 2;
        }
    }
    try {
        Lab lab;
        const Workload& web = lab.add_workload("web");
        const Workload& db = lab.add_workload("db");
        auto file = std::filesystem::temp_directory_path() / ("fw-bench-" + lab.prefix() + ".json");
        nlohmann::json endpoints = nlohmann::json::array();
        for (const Workload* w : {&web, &db})
            endpoints.push_back({{"name", w->name},
                                 {"identity", w->name},
                                 {"netns", w->netns_path},
                                 {"addresses", {w->v4.str()}}});
        std::ofstream(file) << nlohmann::json{{"endpoints", endpoints}}.dump();
        DaemonProcess daemon({"--docker", "false", "--endpoints-file", file.string(),
                              "--learning-period", "1h", "--log-level", "info"});
        daemon.start();
        eventually([&] {
            return daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") == 2;
        });

        std::vector<double> latency, gap, cli;
        uint16_t port = 20000;
        for (int round = 0; round < rounds; ++round) {
            if (!daemon.cli({"mode", "learn"}).ok())
                throw std::runtime_error("flowwall mode learn failed");
            std::atomic<bool> go{false};
            Clock::time_point t0;
            std::optional<Clock::time_point> first_dropped, last_passed;
            std::thread prober([&] {
                Lab::run_in_netns(web.netns_path, [&] {
                    auto deadline = Clock::now() + std::chrono::seconds(10);
                    while (Clock::now() < deadline) {
                        auto sent = Clock::now();
                        Outcome outcome = probe(db.v4.str(), port++);
                        if (port > 60000)
                            port = 20000;
                        if (!go.load())
                            continue;
                        if (outcome == Outcome::passed)
                            last_passed = sent;
                        if (outcome == Outcome::dropped && sent >= t0) {
                            first_dropped = sent;
                            return;
                        }
                    }
                });
            });
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            t0 = Clock::now();
            go = true;
            ExecResult result = daemon.cli({"mode", "block"});
            auto t1 = Clock::now();
            prober.join();
            if (!result.ok() || !first_dropped)
                throw std::runtime_error("round " + std::to_string(round) +
                                         ": no blocked packet after mode block: " + result.err);
            latency.push_back(ms(*first_dropped - t0));
            cli.push_back(ms(t1 - t0));
            if (last_passed)
                gap.push_back(ms(*first_dropped - *last_passed));
        }
        std::filesystem::remove(file);
        auto median = [](std::vector<double> v) {
            std::sort(v.begin(), v.end());
            return v[v.size() / 2];
        };
        auto worst = [](const std::vector<double>& v) {
            return *std::max_element(v.begin(), v.end());
        };
        nlohmann::json out = {
            {"rounds", rounds},
            {"first_block_ms", {{"median", median(latency)}, {"worst", worst(latency)}}},
            {"cli_round_trip_ms", {{"median", median(cli)}, {"worst", worst(cli)}}},
            {"probe_gap_ms", {{"median", gap.empty() ? 0 : median(gap)}}}};
        if (as_json)
            std::cout << out.dump(2) << '\n';
        else
            std::printf("%d rounds: first blocked SYN %.2f ms after `flowwall mode block` started "
                        "(median; worst %.2f); the CLI itself took %.2f ms (median); probes were "
                        "%.2f ms apart\n",
                        rounds, median(latency), worst(latency), median(cli),
                        gap.empty() ? 0.0 : median(gap));
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "mode_switch_bench: %s\n", error.what());
        return 1;
    }
}
