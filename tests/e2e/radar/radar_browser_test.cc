// SPDX-License-Identifier: Apache-2.0
// Radar in a real browser: Debian's headless Chromium, driven by radar_browser.cjs
// (playwright-core), against a real flowwalld on the demo's lab. The page must show the lab's
// identities and the learned flows, show a blocked attempt as a blocked edge within seconds
// without a reload, show a node's flows, workloads and audit records when it is clicked, and
// narrow the graph with the identity filter. The screenshot it saves
// (build/artifacts/radar.png) is the one in the README.
#include "tests/e2e/daemon/daemon_process.h"
#include "tests/e2e/daemon/demo_lab.h"
#include "tests/support/child_process.h"
#include "tests/support/require_root.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kChromium = "/usr/bin/chromium";

// The browser, node and playwright-core are what this test is about: missing, it fails in
// CI and says what to install; elsewhere it skips.
std::string missing_tools() {
    std::string missing;
    if (!std::filesystem::exists(kChromium))
        missing += std::string(" ") + kChromium + " (Debian package chromium);";
    if (std::system("command -v node >/dev/null 2>&1") != 0)
        missing += " node (Debian package nodejs);";
    if (!std::filesystem::exists(std::filesystem::path(FLOWWALL_NODE_MODULES) / "playwright-core"))
        missing += " playwright-core in " FLOWWALL_NODE_MODULES " (the build's npm ci);";
    return missing;
}

TEST(RadarBrowser, ShowsTheLabLiveBlockedAttemptsAndNodeDetails) {
    FLOWWALL_REQUIRE_ROOT("the lab's namespaces and the daemon's programs");
    if (std::string missing = missing_tools(); !missing.empty()) {
        if (std::getenv("CI") != nullptr)
            FAIL() << "missing:" << missing << " run ./scripts/install-deps and rebuild";
        GTEST_SKIP() << "missing:" << missing;
    }

    DemoLab lab;
    std::vector<std::string> args = lab.daemon_args();
    args.insert(args.end(), {"--learning-period", "3s", "--after-learning", "block"});
    DaemonProcess daemon(args);
    daemon.start();
    ASSERT_TRUE(eventually(
        [&] { return daemon.cli_json({"status"}).at("datapath").at("interfaces_guarded") == 4; }));

    // Learn the demo's normal flows; learning ends into block.
    ASSERT_TRUE(connects(lab.web(), lab.api(), DemoLab::kApiPort, true));
    ASSERT_TRUE(connects(lab.api(), lab.db(), DemoLab::kDbPort, true));
    ASSERT_TRUE(eventually([&] { return none_learning(daemon); }, 15s))
        << "learning did not end in block mode";

    auto artifacts = std::filesystem::path(FLOWWALL_ARTIFACTS_DIR);
    std::filesystem::create_directories(artifacts);
    auto screenshot = artifacts / "radar.png";
    std::filesystem::remove(screenshot);
    auto spec_path = daemon.dir() / "radar-spec.json";
    json spec = {
        {"url", daemon.web_address() + "/"},
        {"browser", kChromium},
        {"node_modules", FLOWWALL_NODE_MODULES},
        {"screenshot", screenshot.string()},
        {"nodes", {"web", "api", "db", "intruder"}},
        {"learned", {"web>api 8080/tcp learned", "api>db 5432/tcp learned"}},
        {"blocked", {"intruder>db 5432/tcp blocked", "web>db 5432/tcp blocked"}},
        {"blocked_within_ms", 8000},
        {"click", "db"},
        // Its flows (by port and state), its workload and a block in its audit records.
        {"details_show", {"5432/tcp", "learned", "blocked", "db-1", "intruder → db"}},
        {"filter", "intruder"},
        {"filter_shows", {"db", "intruder"}},
    };
    std::ofstream(spec_path) << spec.dump();

    ChildProcess browser(
        {"node", FLOWWALL_SOURCE_DIR "/tests/e2e/radar/radar_browser.cjs", spec_path.string()});
    auto ready = browser.read_line(60s);
    ASSERT_TRUE(ready.has_value() && *ready == "ready")
        << "the page did not show the lab: " << ready.value_or("(no answer)") << "\n"
        << browser.errors();

    // Lateral movement, while the page is open.
    EXPECT_FALSE(connects(lab.intruder(), lab.db(), DemoLab::kDbPort, false));
    EXPECT_FALSE(connects(lab.web(), lab.db(), DemoLab::kDbPort, false));

    auto result = browser.read_line(60s);
    ASSERT_TRUE(result.has_value()) << "the browser driver said nothing more\n" << browser.errors();
    EXPECT_EQ(result->rfind("done", 0), 0u) << *result << "\n" << browser.errors();
    EXPECT_EQ(browser.wait(20s), 0) << browser.errors();
    ASSERT_TRUE(std::filesystem::exists(screenshot));
    // A blank or failed render is a few KiB; the graph with the panel is far more.
    EXPECT_GT(std::filesystem::file_size(screenshot), 30'000u);
    std::printf("Radar screenshot: %s\n", screenshot.c_str());
}

} // namespace
} // namespace flowwall::testing
