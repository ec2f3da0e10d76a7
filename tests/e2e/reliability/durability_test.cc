// SPDX-License-Identifier: Apache-2.0
// The state files survive kill -9 at any moment of a save: flowwalld holds a model of
// thousands of flows, is made to save it (an import of more flows, then a mode change that
// saves the learning state) and is killed after a random short delay, over and over. Each
// time the files on disk parse and hold the old model or the new one, never a mix, never
// nothing, and the restarted daemon comes up with exactly that model.
#include "tests/e2e/reliability/reliability_support.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>
#include <sstream>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr int kRounds = 30;
constexpr int kBatch = 100; // flows each round adds

// Flows s<i> -> d<j> on `ports` ports from first_port: few identities (each new one is a
// write of identities.json), many flows.
json flows_between(int sources, int destinations, uint16_t first_port, int ports) {
    json flows = json::array();
    for (int s = 0; s < sources; ++s)
        for (int d = 0; d < destinations; ++d)
            for (int p = 0; p < ports; ++p)
                flows.push_back(model_flow("s" + std::to_string(s), "d" + std::to_string(d),
                                           static_cast<uint16_t>(first_port + p)));
    return flows;
}

// -1 when the file does not parse as a model document.
long flows_in(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    json document = json::parse(text.str(), nullptr, false);
    if (document.is_discarded() || !document.contains("flows") || !document["flows"].is_array())
        return -1;
    return static_cast<long>(document["flows"].size());
}

bool parses(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return !json::parse(text.str(), nullptr, false).is_discarded();
}

size_t temp_files_in(const std::filesystem::path& dir) {
    size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        count += entry.path().filename().string().find(".tmp") != std::string::npos ? 1 : 0;
    return count;
}

TEST(DurabilityTest, KillNineDuringSavesLeavesTheOldOrTheNewModelNeverACorruptOne) {
    FLOWWALL_REQUIRE_ROOT("runs flowwalld, which loads BPF programs");
    DaemonProcess daemon({"--docker", "false"});
    daemon.start();
    const auto state = daemon.dir() / "state";
    const auto batch_file = daemon.dir() / "batch.json";

    write_model(batch_file, flows_between(10, 10, 1000, 50));
    ASSERT_TRUE(daemon.cli({"model", "import", batch_file.string()}).ok());
    long expected = daemon.cli_json({"status"}).at("model").at("flows");
    ASSERT_EQ(expected, 5000);
    ASSERT_EQ(flows_in(state / "model.json"), expected);

    // What one save costs here, so that the kills land before, during and after it.
    auto save_round = [&](int round) {
        write_model(batch_file,
                    flows_between(1, 1, static_cast<uint16_t>(10000 + round * kBatch), kBatch));
        auto started = std::chrono::steady_clock::now();
        std::thread client([&daemon, &batch_file, round] {
            daemon.cli({"model", "import", batch_file.string()});
            daemon.cli({"mode", round % 2 == 0 ? "alert" : "block"});
        });
        return std::pair{started, std::move(client)};
    };
    milliseconds cost{0};
    {
        auto [started, client] = save_round(0);
        client.join();
        expected += kBatch;
        ASSERT_EQ(daemon.cli_json({"status"}).at("model").at("flows"), expected);
        cost = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
        std::printf("one import of %d flows into %ld, then a mode change: %lld ms\n", kBatch,
                    expected - kBatch, static_cast<long long>(cost.count()));
    }
    // Delays from 0 to a little more than a whole round: before the request, in the middle
    // of either save, and after both.
    const milliseconds window = std::max(milliseconds(20), cost * 5 / 4);
    std::mt19937 random(std::random_device{}());
    int old_kept = 0, new_kept = 0, interrupted_writes = 0;
    milliseconds longest_delay{0};
    for (int round = 1; round <= kRounds; ++round) {
        const long before = expected;
        auto [started, client] = save_round(round);
        milliseconds delay(std::uniform_int_distribution<long>(0, window.count())(random));
        longest_delay = std::max(longest_delay, delay);
        std::this_thread::sleep_until(started + delay);
        daemon.stop(SIGKILL);
        client.join();

        // As the crash left them, before any daemon tidies up.
        interrupted_writes += temp_files_in(state) > 0 ? 1 : 0;
        const long on_disk = flows_in(state / "model.json");
        ASSERT_TRUE(on_disk == before || on_disk == before + kBatch)
            << "round " << round << ": model.json has " << on_disk << " flows, expected " << before
            << " or " << before + kBatch;
        if (std::filesystem::exists(state / "model.json.prev")) {
            EXPECT_GE(flows_in(state / "model.json.prev"), 5000) << "round " << round;
        }
        EXPECT_TRUE(parses(state / "learning.json")) << "round " << round;
        EXPECT_TRUE(parses(state / "identities.json")) << "round " << round;

        daemon.start();
        const long loaded = daemon.cli_json({"status"}).at("model").at("flows");
        EXPECT_EQ(loaded, on_disk) << "round " << round << ": the daemon loaded another model";
        (loaded == before ? old_kept : new_kept)++;
        expected = loaded;
        EXPECT_EQ(temp_files_in(state), 0u) << "round " << round << ": leftovers not removed";
    }
    std::printf("kill -9 during saves: %d rounds, delays up to %lld ms: old model %d times, new "
                "model %d times, %d kills left a half-done write behind, 0 corrupt\n",
                kRounds, static_cast<long long>(longest_delay.count()), old_kept, new_kept,
                interrupted_writes);
    EXPECT_GT(new_kept, 0) << "no kill came after a save: the delays are too short";
}

} // namespace
} // namespace flowwall::testing
