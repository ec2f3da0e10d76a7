// SPDX-License-Identifier: Apache-2.0
// What ./scripts/demo runs: flowwalld and the flowwall CLI on a lab of network namespaces
// (web, api, db, an intruder) described by an endpoints file. It learns the normal flows for
// a short period, shows the model, switches to block, and shows normal traffic flowing while
// lateral movement is refused and audited. Every step is checked: the demo exits 1 on the
// first step that does not do what it says (the e2e_lab_demo test runs it). Everything it
// creates is removed at the end, also on failure.
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/demo_lab.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace {

using namespace flowwall::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr uint16_t kApiPort = DemoLab::kApiPort;
constexpr uint16_t kDbPort = DemoLab::kDbPort;
constexpr uint16_t kSshPort = DemoLab::kSshPort;

// Radar's usual address when it is free (an operator's own flowwalld may hold it), else any.
std::string radar_listen_address() {
    int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(9190);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free =
        probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    if (probe >= 0)
        ::close(probe);
    return free ? "127.0.0.1:9190" : "127.0.0.1:0";
}

void step(const std::string& text) {
    std::printf("\n==> %s\n", text.c_str());
}
void say(const std::string& text) {
    std::printf("    %s\n", text.c_str());
}

void expect(bool condition, const std::string& what) {
    if (!condition)
        throw std::runtime_error("demo step failed: " + what);
}

void run_cli(const DaemonProcess& daemon, const std::vector<std::string>& args) {
    std::string line = "$ flowwall";
    for (const auto& arg : args)
        line += " " + arg;
    std::printf("\n    %s\n", line.c_str());
    ExecResult result = daemon.cli(args);
    expect(result.ok(), "flowwall " + args.front() + " failed: " + result.err);
    std::string indented;
    for (char c : result.out) {
        if (indented.empty() || indented.back() == '\n')
            indented += "    ";
        indented += c;
    }
    std::printf("%s", indented.c_str());
}

void attempt(const char* what, const Workload& from, const Workload& to, uint16_t port,
             bool should_pass) {
    bool passed = connects(from, to, port, should_pass);
    std::printf("    %-44s %s\n", what, passed ? "connected" : "refused");
    expect(passed == should_pass,
           std::string(what) + (should_pass ? " should connect" : " should be refused"));
}

int run() {
    step("A lab: network namespaces web, api, db and intruder behind a router (198.18.0.0/15)");
    DemoLab lab;
    const Workload& web = lab.web();
    const Workload& api = lab.api();
    const Workload& db = lab.db();
    const Workload& intruder = lab.intruder();
    for (const Workload* w : lab.workloads())
        say(w->name + " " + w->v4.str());

    step("flowwalld starts with an endpoints file naming each namespace's identity, and "
         "learns for 8 seconds");
    std::vector<std::string> args = lab.daemon_args();
    args.insert(args.end(), {"--learning-period", "8s", "--after-learning", "alert", "--web-listen",
                             radar_listen_address()});
    DaemonProcess daemon(args);
    daemon.start();
    expect(eventually([&] { return daemon.cli_json({"status"}).at("synced") == true; }),
           "flowwalld did not sync with the endpoints file");
    expect(eventually([&] {
               return daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") == 4;
           }),
           "the four workloads were not all guarded");
    run_cli(daemon, {"endpoints"});
    say("Radar, the live flow map, is on " + daemon.web_address() + "/ (open it now to watch)");

    step("Normal traffic while learning: web calls api, api calls db");
    attempt("web -> api 8080/tcp", web, api, kApiPort, true);
    attempt("api -> db 5432/tcp", api, db, kDbPort, true);
    expect(eventually([&] {
               return daemon.cli_json({"model", "show"}).at("flows").size() >= 2;
           }),
           "the two flows were not learned");
    run_cli(daemon, {"model", "show"});
    run_cli(daemon, {"status"});

    step("Learning ends after 8 seconds; then every identity is switched to block");
    expect(eventually([&] { return none_learning(daemon); }, 15s), "learning did not end");
    run_cli(daemon, {"mode", "block"});
    run_cli(daemon, {"identities"});

    step("Normal traffic still flows");
    attempt("web -> api 8080/tcp", web, api, kApiPort, true);
    attempt("api -> db 5432/tcp", api, db, kDbPort, true);

    step("Lateral movement is refused");
    attempt("web -> db 5432/tcp (skips the api)", web, db, kDbPort, false);
    attempt("db -> web 8080/tcp (db calling out)", db, web, kApiPort, false);
    attempt("api -> db 2222/tcp (a new port)", api, db, kSshPort, false);
    attempt("intruder -> db 5432/tcp", intruder, db, kDbPort, false);

    step("Each refused attempt is an audit record");
    expect(eventually([&] { return daemon.cli_json_lines({"events"}).size() >= 4; }),
           "the four blocks were not audited");
    run_cli(daemon, {"events"});

    step("Radar draws all of it: " + daemon.web_address() + "/");
    say("learned flows in green, blocked attempts in red; click a node for its flows, "
        "workloads and audit records");
    if (::isatty(STDIN_FILENO) && std::getenv("FLOWWALL_DEMO_NO_PAUSE") == nullptr) {
        std::printf("\n    Press Enter to clean up (Radar stays up until then) ");
        std::fflush(stdout);
        std::getchar();
    }

    step("Cleaning up: flowwalld stops, flowwalld --cleanup removes programs and pins, "
         "the lab goes away");
    expect(daemon.stop() == 0, "flowwalld did not stop cleanly");
    return 0;
}

} // namespace

int main() {
    try {
        int code = run();
        std::printf("\ndemo finished: normal traffic flowed, lateral movement was refused\n");
        return code;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "\n%s\n", error.what());
        return 1;
    }
}
