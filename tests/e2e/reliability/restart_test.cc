// SPDX-License-Identifier: Apache-2.0
// flowwalld dies and comes back under traffic: kill -9 at random moments (also part way
// through start-up), workloads added and removed while no daemon runs, and upgrades (a clean
// stop and a start of another build, whose programs differ). Allowed connections never fail, denied
// ones never get through, and each new daemon adopts what the last one pinned: the same maps
// and links, with its own programs swapped into the links.
#include "src/datapath/bpffs.h"
#include "tests/e2e/daemon/pinned_maps.h"
#include "tests/e2e/reliability/reliability_support.h"
#include "tests/support/require_root.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <random>
#include <set>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Short: a denied SYN is dropped, so the attempt only ends at its timeout; a connection that
// got through would have its handshake done on these veths in well under a millisecond.
constexpr milliseconds kDeniedTimeout{100};

class RestartTest : public ::testing::Test {
protected:
    void SetUp() override {
        FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs into network namespaces");
        lab_ = std::make_unique<Lab>();
        for (const char* name : {"web", "api", "db", "intruder", "old", "cache"})
            lab_->add_workload(name);
        file_ =
            std::filesystem::temp_directory_path() / ("fw-endpoints-" + lab_->prefix() + ".json");
        api_server_ = std::make_unique<TcpServer>(w("api").netns_path, w("api").v4);
        db_server_ = std::make_unique<TcpServer>(w("db").netns_path, w("db").v4);
        cache_server_ = std::make_unique<TcpServer>(w("cache").netns_path, w("cache").v4);
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove(file_, ignored);
        std::filesystem::remove(model_file(), ignored);
    }

    const Workload& w(const std::string& name) const { return lab_->workload(name); }
    std::filesystem::path model_file() const { return file_.string() + ".model.json"; }

    void write_workloads(const std::vector<std::string>& names) {
        json entries = json::array();
        for (const auto& name : names)
            entries.push_back(endpoint_entry(name + "-1", name, w(name)));
        write_endpoints(file_, entries);
    }

    // Blocks everything outside the model from the first moment an identity is seen (no
    // learning, and a default of block for the instant between its ipcache entry and its
    // mode), with a model that allows web -> api, api -> db and web -> cache.
    std::unique_ptr<DaemonProcess> start_enforcing_daemon() {
        auto daemon = std::make_unique<DaemonProcess>(std::vector<std::string>{
            "--docker", "false", "--endpoints-file", file_.string(), "--default-mode", "block",
            "--learning-period", "0s", "--after-learning", "block"});
        daemon->start();
        write_model(model_file(), json::array({model_flow("web", "api", api_server_->port()),
                                               model_flow("api", "db", db_server_->port()),
                                               model_flow("web", "cache", cache_server_->port())}));
        EXPECT_TRUE(daemon->cli({"model", "import", model_file().string()}).ok());
        EXPECT_EQ(daemon->cli_json({"status"}).at("model").at("flows"), 3);
        return daemon;
    }

    // Every workload in the file guarded, both programs swapped to the running daemon's,
    // sources synced: the state a restarted daemon must reach.
    bool settled(const DaemonProcess& daemon, size_t workloads) {
        const json status = daemon.cli_json({"status"});
        if (status.at("synced") != true || status.at("workloads") != workloads ||
            status.at("datapath").at("interfaces_guarded") != workloads)
            return false;
        std::vector<uint32_t> programs;
        for (const auto& program : status.at("datapath").at("programs"))
            programs.push_back(program.at("id").get<uint32_t>());
        PinnedIds ids = pinned_ids(daemon.pin_dir());
        if (ids.links.size() != 2 * workloads)
            return false;
        for (const auto& [pin, program] : ids.link_programs)
            if (std::find(programs.begin(), programs.end(), program) == programs.end())
                return false;
        return true;
    }

    std::vector<std::unique_ptr<TrafficLoop>> start_traffic(milliseconds budget) {
        std::vector<std::unique_ptr<TrafficLoop>> loops;
        // Denied attempts wait only for their timeout, so they come closer together.
        auto loop = [&](bool allow, const std::string& name, const Workload& from,
                        const Workload& to, uint16_t port) {
            const auto timeout = allow ? kAllowTimeout : kDeniedTimeout;
            loops.push_back(std::make_unique<TrafficLoop>(
                TrafficLoop::Options{.name = name,
                                     .expect_connected = allow,
                                     .max_attempts = 400,
                                     .budget = budget,
                                     .pause = milliseconds(allow ? 40 : 10)},
                [&from, &to, port, timeout] {
                    return tcp_connect(from.netns_path, to.v4, port, timeout);
                }));
        };
        auto allowed = [&](auto&&... args) { loop(true, args...); };
        auto denied = [&](auto&&... args) { loop(false, args...); };
        allowed("allowed web->api", w("web"), w("api"), api_server_->port());
        allowed("allowed api->db", w("api"), w("db"), db_server_->port());
        // Each to a port with a listener, so that one getting through would connect.
        denied("denied web->db", w("web"), w("db"), db_server_->port());
        denied("denied db->api", w("db"), w("api"), api_server_->port());
        denied("denied intruder->api", w("intruder"), w("api"), api_server_->port());
        denied("denied intruder->db", w("intruder"), w("db"), db_server_->port());
        // cache joins while no daemon runs; it must block from its first packet on.
        denied("denied intruder->cache", w("intruder"), w("cache"), cache_server_->port());
        return loops;
    }

    std::unique_ptr<Lab> lab_;
    std::filesystem::path file_;
    std::unique_ptr<TcpServer> api_server_, db_server_, cache_server_;
};

void expect_clean(std::vector<std::unique_ptr<TrafficLoop>>& loops, int min_attempts) {
    for (auto& loop : loops) {
        loop->wait();
        std::printf("%s\n", loop->summary().c_str());
        EXPECT_EQ(loop->unexpected(), 0) << loop->summary();
        EXPECT_GE(loop->attempts(), min_attempts) << loop->summary();
    }
}

TEST_F(RestartTest, KillNineUnderTrafficLosesNothingAndTheNewDaemonAdoptsThePins) {
    write_workloads({"web", "api", "db", "intruder", "old"});
    auto daemon = start_enforcing_daemon();
    ASSERT_TRUE(eventually([&] { return settled(*daemon, 5); }, milliseconds(10000)))
        << daemon->cli({"status"}).out;
    ASSERT_TRUE(
        tcp_connect(w("web").netns_path, w("api").v4, api_server_->port(), kAllowTimeout).ok());
    ASSERT_FALSE(
        tcp_connect(w("web").netns_path, w("db").v4, db_server_->port(), kDeniedTimeout).connected);
    const PinnedIds first = pinned_ids(daemon->pin_dir());
    ASSERT_FALSE(first.maps.empty());
    const std::string old_v4 = w("old").v4.str();

    std::mt19937 random(std::random_device{}());
    constexpr int kKills = 5;
    auto loops = start_traffic(milliseconds(30000));
    for (int kill = 1; kill <= kKills; ++kill) {
        std::this_thread::sleep_for(
            milliseconds(std::uniform_int_distribution(1500, 2500)(random)));
        std::vector<uint32_t> killed_programs = daemon_program_ids(*daemon);
        daemon->stop(SIGKILL);
        if (kill == 2) {
            // Also die part way through start-up: loading, adopting links, or listing.
            daemon->launch();
            std::this_thread::sleep_for(
                milliseconds(std::uniform_int_distribution(0, 400)(random)));
            daemon->stop(SIGKILL);
        }
        if (kill == 3) // while no daemon runs: one workload goes, one comes
            write_workloads({"web", "api", "db", "intruder", "cache"});
        std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution(0, 300)(random)));
        auto restarted = std::chrono::steady_clock::now();
        daemon->start();
        ASSERT_TRUE(eventually([&] { return settled(*daemon, 5); }, milliseconds(10000)))
            << "restart " << kill << ": " << daemon->cli({"status"}).out;
        std::printf("restart %d: answering and every link on its programs after %lld ms\n", kill,
                    static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                               std::chrono::steady_clock::now() - restarted)
                                               .count()));

        const PinnedIds now = pinned_ids(daemon->pin_dir());
        EXPECT_EQ(now.maps, first.maps) << "restart " << kill << " re-created a pinned map";
        for (const auto& [pin, id] : now.links) {
            if (auto before = first.links.find(pin); before != first.links.end()) {
                EXPECT_EQ(id, before->second)
                    << pin << ": restart " << kill << " attached a new link instead of adopting";
            }
            EXPECT_EQ(std::count(killed_programs.begin(), killed_programs.end(),
                                 now.link_programs.at(pin)),
                      0)
                << pin << " still runs the killed daemon's program";
        }
        if (kill >= 3) {
            EXPECT_EQ(pinned_ipcache_identity(daemon->pin_dir(), old_v4), std::nullopt)
                << "the removed workload's address left the ipcache";
            EXPECT_EQ(programs_on(w("old"), true) + programs_on(w("old"), false), 0u)
                << "the removed workload's links are detached";
            EXPECT_EQ(pinned_ipcache_identity(daemon->pin_dir(), w("cache").v4.str()),
                      identity_id(*daemon, "cache"));
            EXPECT_EQ(programs_on(w("cache"), true), 1u);
            EXPECT_EQ(programs_on(w("cache"), false), 1u);
        }
        for (const char* name : {"web", "api", "db", "intruder"})
            EXPECT_EQ(programs_on(w(name), false), 1u) << name << ": one link per hook";
    }
    // The added workload is enforced, not only guarded: its flow in the model passes and
    // a flow outside it is dropped.
    EXPECT_TRUE(
        tcp_connect(w("web").netns_path, w("cache").v4, cache_server_->port(), kAllowTimeout).ok());
    EXPECT_FALSE(
        tcp_connect(w("intruder").netns_path, w("cache").v4, cache_server_->port(), kDeniedTimeout)
            .connected);
    std::this_thread::sleep_for(milliseconds(1000)); // traffic on the last daemon too
    for (auto& loop : loops)
        loop->stop();
    expect_clean(loops, 50);
    std::printf("kills: %d (one of them during start-up), workloads added 1, removed 1\n",
                kKills + 1);
}

// Upgrades alternate between two builds of flowwalld whose BPF programs differ
// (flowwalld_next, tests/e2e/reliability/CMakeLists.txt): this build -> next -> this -> next.
TEST_F(RestartTest, UpgradeToAnotherBuildSwapsTheProgramsThroughThePinnedLinks) {
    write_workloads({"web", "api", "db", "intruder"});
    auto daemon = start_enforcing_daemon();
    ASSERT_TRUE(eventually([&] { return settled(*daemon, 4); }, milliseconds(10000)));
    const PinnedIds first = pinned_ids(daemon->pin_dir());
    // The programs' tags on the links, per build.
    auto link_tags = [&] {
        std::set<std::string> tags;
        for (const auto& [pin, program] : pinned_ids(daemon->pin_dir()).link_programs)
            tags.insert(program_tag(program));
        return tags;
    };
    const std::set<std::string> this_build = link_tags();
    ASSERT_EQ(this_build.size(), 2u) << "from_workload and to_workload";
    std::set<std::string> next_build;

    // Sampled all along: an atomic swap never shows a hook with no program or with two.
    std::atomic<int> samples{0}, not_one{0};
    std::jthread sampler([&](std::stop_token stop) {
        for (int i = 0; i < 20000 && !stop.stop_requested(); ++i) {
            ++samples;
            if (programs_on(w("web"), false) != 1 || programs_on(w("api"), true) != 1)
                ++not_one;
            std::this_thread::sleep_for(milliseconds(2));
        }
    });
    auto loops = start_traffic(milliseconds(20000));
    constexpr int kUpgrades = 3;
    std::vector<uint32_t> seen_programs = daemon_program_ids(*daemon);
    for (int upgrade = 1; upgrade <= kUpgrades; ++upgrade) {
        std::this_thread::sleep_for(milliseconds(1500));
        ASSERT_EQ(daemon->stop(SIGTERM), 0);
        const bool to_next = upgrade % 2 == 1;
        daemon->use_binary(to_next ? FLOWWALLD_NEXT_PATH : DaemonProcess::flowwalld_path());
        if (upgrade == 2) {
            // A map of an older layout, as an older build would have left it pinned.
            UniqueFd older(::bpf_map_create(BPF_MAP_TYPE_HASH, "fw_ct4_v0", 8, 8, 16, nullptr));
            ASSERT_TRUE(older.valid());
            ASSERT_TRUE(datapath::pin_object(older.get(), daemon->pin_dir() / "fw_ct4_v0"));
        }
        daemon->start();
        ASSERT_TRUE(eventually([&] { return settled(*daemon, 4); }, milliseconds(10000)))
            << "upgrade " << upgrade;
        const PinnedIds now = pinned_ids(daemon->pin_dir());
        EXPECT_EQ(now.maps, first.maps) << "upgrade " << upgrade;
        EXPECT_EQ(now.links, first.links) << "the same links, updated in place";
        for (const auto& [pin, program] : now.link_programs) {
            EXPECT_EQ(std::count(seen_programs.begin(), seen_programs.end(), program), 0)
                << pin << ": upgrade " << upgrade << " did not swap the program";
        }
        for (uint32_t id : daemon_program_ids(*daemon))
            seen_programs.push_back(id);
        auto tags = link_tags();
        if (to_next) {
            EXPECT_TRUE(std::none_of(tags.begin(), tags.end(),
                                     [&](const auto& tag) { return this_build.contains(tag); }))
                << "upgrade " << upgrade << ": the links still run this build's code";
            if (next_build.empty())
                next_build = tags;
            EXPECT_EQ(tags, next_build) << "upgrade " << upgrade;
        } else {
            EXPECT_EQ(tags, this_build) << "upgrade " << upgrade << " back to this build";
        }
    }
    EXPECT_EQ(next_build.size(), 2u);
    EXPECT_NE(daemon->log().find("unpinned fw_ct4_v0, an older layout of fw_ct4_v1"),
              std::string::npos);
    for (auto& loop : loops)
        loop->stop();
    sampler.request_stop();
    sampler.join();
    expect_clean(loops, 30);
    EXPECT_EQ(not_one.load(), 0) << "of " << samples.load() << " samples";
    std::printf("upgrades: %d program swaps between two builds, %d hook samples, %d without "
                "exactly one program\n",
                kUpgrades, samples.load(), not_one.load());
}

} // namespace
} // namespace flowwall::testing
