// SPDX-License-Identifier: Apache-2.0
//
// Tests of the e2e harness itself (tests/support/netns_lab.h, traffic.h): the lab routes TCP
// and UDP over IPv4 and IPv6 between all workloads, failures come back quickly, and nothing
// outlives a Lab, whether the test passes, throws, or its process crashes.
#include "tests/support/netns_lab.h"
#include "tests/support/traffic.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using flowwall::testing::Address;
using flowwall::testing::count_successes;
using flowwall::testing::kAllowTimeout;
using flowwall::testing::kDenyTimeout;
using flowwall::testing::Lab;
using flowwall::testing::TcpServer;
using flowwall::testing::udp_exchange;
using flowwall::testing::UdpEchoServer;
using flowwall::testing::Workload;
using std::chrono::milliseconds;

constexpr const char* kNeedsRoot = "needs root: creates network namespaces";
constexpr uint16_t kTcpPort = 8080;
constexpr uint16_t kUdpPort = 5300;
constexpr uint16_t kClosedPort = 9;

class LabTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            // In CI a skip would hide that the e2e suite never ran.
            if (std::getenv("CI") != nullptr) {
                FAIL() << kNeedsRoot;
            }
            GTEST_SKIP() << kNeedsRoot;
        }
    }
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// Everything named `prefix`* that the host can see: namespaces (both as `ip netns list` shows
// them and as files in /run/netns) and links of the host namespace.
std::vector<std::string> leftovers(const std::string& prefix) {
    std::vector<std::string> found;
    const auto netns = Lab::exec("", {"ip", "netns", "list"});
    EXPECT_TRUE(netns.ok()) << netns.err;
    for (const auto& line : lines_of(netns.out)) {
        if (line.starts_with(prefix)) {
            found.push_back("netns: " + line);
        }
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
        if (entry.path().filename().string().starts_with(prefix)) {
            found.push_back("file: " + entry.path().string());
        }
    }
    // `ip -o link` lines read "7: name@peer: <FLAGS> ..." or "7: name: <FLAGS> ...".
    const auto links = Lab::exec("", {"ip", "-o", "link", "show"});
    EXPECT_TRUE(links.ok()) << links.err;
    for (const auto& line : lines_of(links.out)) {
        const auto start = line.find(": ");
        if (start == std::string::npos) {
            continue;
        }
        const std::string name =
            line.substr(start + 2, line.find_first_of("@:", start + 2) - (start + 2));
        if (name.starts_with(prefix)) {
            found.push_back("link: " + name);
        }
    }
    return found;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::string value;
    in >> value;
    return value;
}

// The address of a workload in the given family, so tests can loop over both.
const Address& address_of(const Workload& w, int family) {
    return family == AF_INET ? w.v4 : w.v6;
}

TEST(LabExec, CapturesOutputAndExitCodeAndHonoursTimeout) {
    const auto ok = Lab::exec("", {"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(ok.exit_code, 3);
    EXPECT_FALSE(ok.timed_out);
    EXPECT_EQ(ok.out, "out\n");
    EXPECT_EQ(ok.err, "err\n");

    const auto start = std::chrono::steady_clock::now();
    const auto slow = Lab::exec("", {"sleep", "10"}, milliseconds(200));
    EXPECT_TRUE(slow.timed_out);
    EXPECT_FALSE(slow.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

    EXPECT_THROW(Lab::exec("", {"/nonexistent/flowwall-no-such-tool"}), std::system_error);
}

TEST_F(LabTest, BuildsTheTopologyItDescribes) {
    const std::string host_forwarding = read_file("/proc/sys/net/ipv4/ip_forward");
    Lab lab;
    const auto& web = lab.add_workload("web");
    const auto& db = lab.add_workload("db");

    EXPECT_EQ(lab.prefix().size(), 9u);
    EXPECT_EQ(lab.hub_netns(), lab.prefix() + "-hub");
    EXPECT_EQ(lab.hub_netns_path(), "/run/netns/" + lab.prefix() + "-hub");
    EXPECT_TRUE(std::filesystem::exists(lab.hub_netns_path()));
    EXPECT_EQ(&lab.workload("web"), &web);
    EXPECT_THROW(lab.workload("nope"), std::out_of_range);
    EXPECT_THROW(lab.add_workload("web"), std::invalid_argument);
    EXPECT_THROW(lab.add_workload("Bad Name"), std::invalid_argument);
    // The lab refuses addresses outside 198.18.0.0/15; this one is never configured.
    EXPECT_THROW(lab.add_workload("x", Address::v4("192.0.2.1"), Address::v6("fd00::9")),
                 std::invalid_argument);

    for (const Workload* w : {&web, &db}) {
        SCOPED_TRACE(w->name);
        EXPECT_EQ(w->netns, lab.prefix() + "-" + w->name);
        EXPECT_EQ(w->netns_path, "/run/netns/" + w->netns);
        EXPECT_EQ(w->ifname, "eth0");
        EXPECT_LE(w->hub_ifname.size(), 15u);
        EXPECT_TRUE(w->hub_ifname.starts_with(lab.prefix()));
        // Only the benchmarking range and a ULA prefix, never anything routable.
        EXPECT_EQ(w->v4.bytes[0], 198);
        EXPECT_EQ(w->v4.bytes[1] & 0xfe, 18);
        EXPECT_EQ(w->v6.bytes[0], 0xfd);

        // The indexes are the ones each namespace itself reports.
        unsigned hub_index = 0;
        unsigned workload_index = 0;
        Lab::run_in_netns(lab.hub_netns_path(),
                          [&] { hub_index = ::if_nametoindex(w->hub_ifname.c_str()); });
        Lab::run_in_netns(w->netns_path, [&] { workload_index = ::if_nametoindex("eth0"); });
        EXPECT_EQ(static_cast<int>(hub_index), w->hub_ifindex);
        EXPECT_EQ(static_cast<int>(workload_index), w->ifindex);
        // ... and the hub end is not in the host namespace.
        EXPECT_EQ(::if_nametoindex(w->hub_ifname.c_str()), 0u);
    }
    EXPECT_NE(web.v4, db.v4);
    EXPECT_NE(web.v6, db.v6);

    // Forwarding is on in the hub, and the host's setting did not change.
    std::string hub_forwarding;
    Lab::run_in_netns(lab.hub_netns_path(),
                      [&] { hub_forwarding = read_file("/proc/sys/net/ipv4/ip_forward"); });
    EXPECT_EQ(hub_forwarding, "1");
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), host_forwarding);

    const auto routes = Lab::exec(lab.hub_netns(), {"ip", "-6", "route", "show"});
    EXPECT_NE(routes.out.find(web.v6.str() + " dev " + web.hub_ifname), std::string::npos)
        << routes.out;
}

TEST_F(LabTest, RunInNetnsPropagatesExceptions) {
    Lab lab;
    EXPECT_THROW(Lab::run_in_netns(lab.hub_netns_path(), [] { throw std::logic_error("boom"); }),
                 std::logic_error);
    EXPECT_THROW(Lab::run_in_netns("/run/netns/" + lab.prefix() + "-missing", [] {}),
                 std::system_error);
}

TEST_F(LabTest, TcpAndUdpEchoBetweenAllPairsOverV4AndV6) {
    Lab lab;
    std::vector<const Workload*> workloads;
    for (const char* name : {"web", "api", "db"}) {
        workloads.push_back(&lab.add_workload(name));
    }
    // Declared after the lab, so they stop before its namespaces go.
    std::vector<std::unique_ptr<TcpServer>> tcp_servers;
    std::vector<std::unique_ptr<UdpEchoServer>> udp_servers;
    for (const Workload* w : workloads) {
        for (const Address* address : {&w->v4, &w->v6}) {
            tcp_servers.push_back(std::make_unique<TcpServer>(w->netns_path, *address, kTcpPort));
            udp_servers.push_back(
                std::make_unique<UdpEchoServer>(w->netns_path, *address, kUdpPort));
        }
    }

    int exchanges = 0;
    for (const Workload* from : workloads) {
        for (const Workload* to : workloads) {
            if (from == to) {
                continue;
            }
            for (const int family : {AF_INET, AF_INET6}) {
                const Address& dst = address_of(*to, family);
                SCOPED_TRACE(from->name + " -> " + to->name + " " + dst.str());
                const auto tcp = flowwall::testing::tcp_connect(
                    from->netns_path, address_of(*from, family), dst, kTcpPort, kAllowTimeout);
                EXPECT_TRUE(tcp.connected) << tcp.error;
                EXPECT_TRUE(tcp.echoed) << tcp.error;
                const auto udp = udp_exchange(from->netns_path, dst, kUdpPort, kAllowTimeout);
                EXPECT_TRUE(udp.sent) << udp.error;
                EXPECT_TRUE(udp.reply_received) << udp.error;
                ++exchanges;
            }
        }
    }
    EXPECT_EQ(exchanges, 12);

    // Each server (one per workload and family) saw exactly its share: two peers.
    for (std::size_t i = 0; i < tcp_servers.size(); ++i) {
        EXPECT_EQ(tcp_servers[i]->accepted(), 2u) << "tcp server " << i;
        EXPECT_EQ(udp_servers[i]->received(), 2u) << "udp server " << i;
    }

    // The bounded loop helper, on a flow that works.
    const Workload& web = *workloads[0];
    const Workload& db = *workloads[2];
    EXPECT_EQ(count_successes(5,
                              [&] {
                                  return flowwall::testing::tcp_connect(web.netns_path, db.v4,
                                                                        kTcpPort, kAllowTimeout)
                                      .ok();
                              }),
              5);
}

TEST_F(LabTest, ClosedPortsAndDroppedFlowsFailWithinTheDenyTimeout) {
    Lab lab;
    const auto& web = lab.add_workload("web");
    const auto& db = lab.add_workload("db");

    for (const int family : {AF_INET, AF_INET6}) {
        const Address& dst = address_of(db, family);
        SCOPED_TRACE(dst.str());
        // A reset and an ICMP port unreachable come back at once.
        const auto tcp = flowwall::testing::tcp_connect(web.netns_path, dst, kClosedPort);
        EXPECT_FALSE(tcp.connected);
        EXPECT_NE(tcp.error.find("refused"), std::string::npos) << tcp.error;
        EXPECT_LT(tcp.elapsed, milliseconds(500));

        const auto udp = udp_exchange(web.netns_path, dst, kClosedPort);
        EXPECT_TRUE(udp.sent);
        EXPECT_FALSE(udp.reply_received);
        EXPECT_LT(udp.elapsed, milliseconds(500)) << udp.error;
    }

    // A flow dropped without answer, as a blocking firewall drops it: the hub blackholes an
    // address of the lab's subnet that no workload has.
    std::string v4 = db.v4.str();
    v4 = v4.substr(0, v4.rfind('.')) + ".250";
    const auto blackhole =
        Lab::exec(lab.hub_netns(), {"ip", "route", "add", "blackhole", v4 + "/32"});
    ASSERT_TRUE(blackhole.ok()) << blackhole.err;
    const auto dropped = flowwall::testing::tcp_connect(web.netns_path, Address::v4(v4), kTcpPort);
    EXPECT_FALSE(dropped.connected);
    EXPECT_GE(dropped.elapsed, kDenyTimeout - milliseconds(50)) << dropped.error;
    EXPECT_LT(dropped.elapsed, kDenyTimeout + milliseconds(500)) << dropped.error;

    // count_successes stops at its time budget even when every attempt waits.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(count_successes(
                  100,
                  [&] {
                      return udp_exchange(web.netns_path, Address::v4(v4), kUdpPort,
                                          milliseconds(200))
                          .ok();
                  },
                  milliseconds(500)),
              0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(LabTest, DestructorRemovesEverything) {
    std::string prefix;
    {
        Lab lab;
        prefix = lab.prefix();
        lab.add_workload("web");
        lab.add_workload("db");
        lab.add_workload("cache");
        // Hub + 3 workloads, each listed by `ip netns list` and in /run/netns; no host links.
        EXPECT_EQ(leftovers(prefix).size(), 8u);
        const auto hub_links = Lab::exec(lab.hub_netns(), {"ip", "-o", "link", "show"});
        EXPECT_EQ(lines_of(hub_links.out).size(), 4u) << hub_links.out; // lo + 3 peers
    }
    EXPECT_TRUE(leftovers(prefix).empty()) << ::testing::PrintToString(leftovers(prefix));
    EXPECT_FALSE(std::filesystem::exists("/run/flowwall-testlab/" + prefix + ".lock"));
}

TEST_F(LabTest, ExceptionMidTestLeavesNothingBehind) {
    std::string prefix;
    const auto failing_test = [&] {
        Lab lab;
        prefix = lab.prefix();
        lab.add_workload("web");
        const auto& db = lab.add_workload("db");
        TcpServer server(db.netns_path, db.v4, kTcpPort);
        throw std::runtime_error("test failed half-way");
    };
    EXPECT_THROW(failing_test(), std::runtime_error);
    ASSERT_FALSE(prefix.empty());
    EXPECT_TRUE(leftovers(prefix).empty()) << ::testing::PrintToString(leftovers(prefix));
}

TEST_F(LabTest, RemoveStaleCleansUpACrashedRunButSparesLiveLabs) {
    // A child builds a lab and dies without running any destructor, like a crashed test.
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        try {
            auto* lab = new Lab();
            lab->add_workload("web");
            const std::string prefix = lab->prefix();
            [[maybe_unused]] const auto n = ::write(pipe_fds[1], prefix.data(), prefix.size());
        } catch (...) {
        }
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    char buffer[32] = {};
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer) - 1);
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_GT(n, 0) << "the child could not build its lab";
    const std::string crashed_prefix(buffer, static_cast<std::size_t>(n));
    ASSERT_EQ(leftovers(crashed_prefix).size(), 4u); // hub and web, each listed twice

    Lab live;
    live.add_workload("web");
    EXPECT_EQ(Lab::remove_stale(live.prefix()), 0u);
    // The whole "fwt" space, as a cleanup step before an e2e suite would: parallel test
    // processes' labs are alive, so they must survive too. No count: a parallel run of this
    // test may have removed our crashed child's lab first.
    Lab::remove_stale();
    EXPECT_TRUE(leftovers(crashed_prefix).empty())
        << ::testing::PrintToString(leftovers(crashed_prefix));
    EXPECT_EQ(leftovers(live.prefix()).size(), 4u);
    EXPECT_TRUE(std::filesystem::exists(live.workload("web").netns_path));
}

} // namespace
