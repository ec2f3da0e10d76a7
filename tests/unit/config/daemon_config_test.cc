// SPDX-License-Identifier: Apache-2.0
#include "src/config/daemon_config.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace flowwall::config {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

const std::string kOrigin = "config file /etc/flowwall/config.json";

// The error of applying `json`; the config must be unchanged by a failure.
std::string file_error(const std::string& json) {
    DaemonConfig config;
    config.log_level = "debug"; // not the default, to see it survive
    auto status = apply_config_json(json, kOrigin, config);
    if (status.ok()) {
        ADD_FAILURE() << "accepted: " << json;
        return {};
    }
    EXPECT_EQ(config.log_level, "debug");
    const auto& message = status.error().message;
    EXPECT_EQ(message.rfind(kOrigin + ": ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
}

std::vector<std::string> with_missing_config(TempDir& dir, std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", (dir / "config.json").string()});
    return args;
}

// Command-line error, with a config file that sets nothing.
std::string flag_error(std::vector<std::string> args) {
    TempDir dir;
    TempDir::write(dir / "config.json", "{}");
    auto outcome = load_daemon_config(with_missing_config(dir, std::move(args)));
    if (outcome.ok()) {
        ADD_FAILURE() << "accepted";
        return {};
    }
    EXPECT_EQ(outcome.error().message.find('\n'), std::string::npos) << outcome.error().message;
    return outcome.error().message;
}

TEST(DaemonConfig, AFileSetsEveryOption) {
    DaemonConfig config;
    auto status = apply_config_json(R"({
        "log-level": "debug", "socket": "/run/fw.sock", "state-dir": "/srv/fw",
        "bpffs-dir": "/sys/fs/bpf/fw", "docker": false, "docker-socket": "/run/d.sock",
        "cri": true, "cri-socket": "/run/k3s/containerd/containerd.sock",
        "pod-identity-from": "label:app.kubernetes.io/name", "resync-interval": "1m",
        "swarm-service-identity": false, "endpoints-file": "/etc/fw/endpoints.json",
        "identity-from": "label:app", "default-mode": "block", "attach-mode": "clsact",
        "ipcache-entries": 1000, "cidr-entries": 1001, "policy-entries": 1002,
        "mode-entries": 1003, "conntrack-entries": 1004, "dedup-entries": 1005,
        "event-buffer-bytes": 65536,
        "conntrack-other-timeout": "30s", "event-dedup-interval": "0"})",
                                    kOrigin, config);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_EQ(config.log_level, "debug");
    EXPECT_EQ(config.socket, "/run/fw.sock");
    EXPECT_EQ(config.state_dir, "/srv/fw");
    EXPECT_EQ(config.bpffs_dir, "/sys/fs/bpf/fw");
    EXPECT_FALSE(config.docker);
    EXPECT_EQ(config.docker_socket, "/run/d.sock");
    EXPECT_TRUE(config.cri);
    EXPECT_EQ(config.cri_socket, "/run/k3s/containerd/containerd.sock");
    EXPECT_EQ(config.pod_identity_from.to_string(), "label:app.kubernetes.io/name");
    EXPECT_EQ(config.resync_interval, 1min);
    EXPECT_EQ(config.endpoints_file, "/etc/fw/endpoints.json");
    EXPECT_EQ(config.identity_from.to_string(), "label:app");
    EXPECT_FALSE(config.identity_from.swarm_services) << "identity-from keeps it";
    EXPECT_EQ(config.default_mode, FW_MODE_BLOCK);
    EXPECT_EQ(config.attach_mode, datapath::TcAttachMode::clsact);
    EXPECT_EQ(config.capacities.ipcache_entries, 1000u);
    EXPECT_EQ(config.capacities.cidr_entries, 1001u);
    EXPECT_EQ(config.capacities.policy_entries, 1002u);
    EXPECT_EQ(config.capacities.mode_entries, 1003u);
    EXPECT_EQ(config.capacities.conntrack_entries, 1004u);
    EXPECT_EQ(config.capacities.dedup_entries, 1005u);
    EXPECT_EQ(config.capacities.event_buffer_bytes, 65536u);
    EXPECT_EQ(config.conntrack_timeout, 30s);
    EXPECT_EQ(config.event_dedup_interval, 0ms);
}

TEST(DaemonConfig, TheEffectiveConfigPrintsAsAFileThatReadsBack) {
    DaemonConfig changed;
    ASSERT_TRUE(apply_config_json(R"({"docker": false, "resync-interval": "1h30m",
        "identity-from": "image-tag", "mode-entries": 4096, "endpoints-file": "/e.json"})",
                                  kOrigin, changed)
                    .ok());
    auto text = config_to_json(changed);
    DaemonConfig reread;
    auto status = apply_config_json(text, "printed", reread);
    ASSERT_TRUE(status.ok()) << status.error().message << "\n" << text;
    EXPECT_EQ(config_to_json(reread), text);
    EXPECT_NE(text.find("\"resync-interval\": \"1h30m\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"docker\": false"), std::string::npos) << text;
    EXPECT_NE(text.find("\"mode-entries\": 4096"), std::string::npos) << text;
    // The defaults, including "no endpoints file", read back too.
    ASSERT_TRUE(apply_config_json(config_to_json(DaemonConfig{}), "defaults", reread).ok());
    EXPECT_EQ(reread.endpoints_file, "");
}

TEST(DaemonConfig, FileErrorsNameTheKeyTheValueAndWhatIsAllowed) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"log-level": "loud"})",
         R"(key "log-level": value "loud" is not one of trace, debug, info, warn, error, critical, off)"},
        {R"({"log_level": "info"})", R"(key "log_level": unknown key; did you mean "log-level"?)"},
        {R"({"ipcache-entrys": 5})", R"(did you mean "ipcache-entries"?)"},
        {R"({"verbosity": 3})", "key \"verbosity\": unknown key; the keys are log-level, socket,"},
        {R"({"config": "/x"})", R"(key "config": --config exists on the command line only)"},
        {R"({"cleanup": true})", "--cleanup exists on the command line only"},
        {R"({"docker": "yes"})", R"(key "docker": value "yes" is string, expected true or false)"},
        {R"({"ipcache-entries": "12"})",
         R"(key "ipcache-entries": value "12" is string, expected a whole number)"},
        {R"({"ipcache-entries": 1.5})", R"(value 1.5 is number, expected a whole number)"},
        {R"({"ipcache-entries": 0})", R"(value 0 is outside the allowed range 1..16777216)"},
        {R"({"ipcache-entries": -3})", R"(value -3 is not a whole number)"},
        {R"({"conntrack-entries": 16777217})", "outside the allowed range"},
        {R"({"mode-entries": 256})", R"(value 256 is outside the allowed range 257..)"},
        {R"({"event-buffer-bytes": 5000})", "value 5000 is not a power of two"},
        {R"({"event-buffer-bytes": 2048})", "value 2048 is outside the allowed range 4096.."},
        {R"({"socket": "run/x.sock"})",
         R"(key "socket": value "run/x.sock" is not an absolute path)"},
        {R"({"state-dir": ""})", "is not an absolute path"},
        {R"({"socket": 5})", R"(value 5 is number, expected a string)"},
        {R"({"resync-interval": 30})", R"(key "resync-interval": value 30 has no unit)"},
        {R"({"resync-interval": "30x"})", R"(value "30x" is not a duration)"},
        {R"({"resync-interval": "0"})", "is outside the allowed range 1s..24h"},
        {R"({"resync-interval": true})", R"(value true is boolean, expected a duration string)"},
        {R"({"conntrack-other-timeout": "25h"})", "outside the allowed range 1s..24h"},
        {R"({"conntrack-tcp-timeout": "2h"})",
         R"(key "conntrack-tcp-timeout": was removed: TCP connections are not tracked)"},
        {R"({"event-dedup-interval": "2h"})", "outside the allowed range 0..1h"},
        {R"({"identity-from": "name"})",
         R"(value "name" is not one of image, image-tag, label:NAME)"},
        {R"({"identity-from": "label:"})", "names no label"},
        {R"({"pod-identity-from": "image-tag"})",
         R"(value "image-tag" is not one of image, label:NAME, bare-image)"},
        {R"({"pod-identity-from": "label:"})", "names no label"},
        {R"({"cri": "yes"})", R"(key "cri": value "yes" is string, expected true or false)"},
        {R"({"cri-socket": "containerd.sock"})", "is not an absolute path"},
        {R"({"default-mode": "strict"})",
         R"(value "strict" is not a mode: use learn, alert, block or off)"},
        {R"({"attach-mode": "xdp"})", R"(value "xdp" is not one of auto, tcx, clsact)"},
        {R"({"endpoints-file": null})", "value null is null, expected a string"},
        {R"([1, 2])", "the top level must be a JSON object"},
        {R"({"log-level": )", "not valid JSON: parse error at line 1"},
    };
    for (auto [json, expected] : cases) {
        auto message = file_error(json);
        EXPECT_NE(message.find(expected), std::string::npos)
            << "want: " << expected << "\n got: " << message;
    }
}

TEST(DaemonConfig, SocketPathsMustFitInSunPath) {
    std::string long_path = "/" + std::string(107, 's');
    auto message = file_error(R"({"docker-socket": ")" + long_path + R"("})");
    EXPECT_NE(message.find("108 bytes long; a Unix socket path may have at most 107"),
              std::string::npos)
        << message;
    DaemonConfig config;
    EXPECT_TRUE(
        apply_config_json(R"({"socket": "/)" + std::string(106, 's') + R"("})", kOrigin, config)
            .ok());
}

TEST(LoadDaemonConfig, DefaultsWorkWithNoFileAtAll) {
    if (std::filesystem::exists(DaemonConfig{}.config_file))
        GTEST_SKIP() << DaemonConfig{}.config_file << " exists on this machine";
    auto outcome = load_daemon_config({});
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    EXPECT_FALSE(outcome.value().exit_now);
    EXPECT_EQ(config_to_json(outcome.value().config), config_to_json(DaemonConfig{}));
}

TEST(LoadDaemonConfig, AnExplicitConfigMustExist) {
    TempDir dir;
    auto outcome = load_daemon_config({"--config", (dir / "config.json").string()});
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().message, "--config " + (dir / "config.json").string() +
                                           ": the file does not exist (leave --config out to "
                                           "run on defaults)");

    TempDir::write(dir / "config.json", "{}");
    auto defaults = load_daemon_config({"--config", (dir / "config.json").string()});
    ASSERT_TRUE(defaults.ok()) << defaults.error().message;
    EXPECT_EQ(config_to_json(defaults.value().config), config_to_json(DaemonConfig{}));
    EXPECT_EQ(defaults.value().config.config_file, dir / "config.json");
}

TEST(LoadDaemonConfig, TheCommandLineOverridesTheFileWhichOverridesDefaults) {
    TempDir dir;
    TempDir::write(dir / "config.json",
                   R"({"log-level": "warn", "resync-interval": "10s", "docker": false})");
    auto outcome = load_daemon_config(with_missing_config(
        dir, {"--log-level", "debug", "--ipcache-entries=4096", "--docker", "true"}));
    ASSERT_TRUE(outcome.ok()) << outcome.error().message;
    const auto& config = outcome.value().config;
    EXPECT_EQ(config.log_level, "debug");                // flag over file
    EXPECT_TRUE(config.docker);                          // flag over file
    EXPECT_EQ(config.resync_interval, 10s);              // file over default
    EXPECT_EQ(config.capacities.ipcache_entries, 4096u); // flag over default
    EXPECT_EQ(config.capacities.cidr_entries, uint32_t{FW_DEFAULT_CIDR_ENTRIES}); // default
    EXPECT_FALSE(config.cleanup);

    auto last_wins = load_daemon_config(
        with_missing_config(dir, {"--log-level", "error", "--log-level", "trace", "--cleanup"}));
    ASSERT_TRUE(last_wins.ok()) << last_wins.error().message;
    EXPECT_EQ(last_wins.value().config.log_level, "trace");
    EXPECT_TRUE(last_wins.value().config.cleanup);
}

TEST(LoadDaemonConfig, ABadFileStopsStartUpWithTheFileInTheMessage) {
    TempDir dir;
    TempDir::write(dir / "config.json", R"({"log-level": "loud"})");
    auto outcome = load_daemon_config(with_missing_config(dir, {"--log-level", "info"}));
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.error().message, "config file " + (dir / "config.json").string() +
                                           ": key \"log-level\": value \"loud\" is not one of "
                                           "trace, debug, info, warn, error, critical, off");

    std::filesystem::create_directory(dir / "dir.json");
    auto directory = load_daemon_config({"--config", (dir / "dir.json").string()});
    ASSERT_FALSE(directory.ok());
    EXPECT_NE(directory.error().message.find("config file " + (dir / "dir.json").string()),
              std::string::npos)
        << directory.error().message;
}

TEST(LoadDaemonConfig, FlagErrorsStartWithTheFlag) {
    EXPECT_EQ(flag_error({"--log-level", "loud"}),
              "--log-level: value \"loud\" is not one of trace, debug, info, warn, error, "
              "critical, off");
    EXPECT_EQ(flag_error({"--docker", "yes"}), "--docker: value \"yes\" is not true or false");
    EXPECT_EQ(flag_error({"--resync-interval", "30"})
                  .rfind("--resync-interval: value \"30\" has "
                         "no unit",
                         0),
              0u);
    EXPECT_EQ(flag_error({"--ipcache-entries", "lots"}),
              "--ipcache-entries: value \"lots\" is not a whole number");
    EXPECT_EQ(flag_error({"--log-levle", "info"}),
              "--log-levle: unknown option; did you mean --log-level? (see --help)");
    EXPECT_EQ(flag_error({"--sockt=/x"}),
              "--sockt: unknown option; did you mean --socket? (see --help)");
    EXPECT_EQ(flag_error({"-x"}), "-x: unknown option (see --help)");
    // A removed option says why, not "did you mean --conntrack-other-timeout".
    EXPECT_EQ(flag_error({"--conntrack-tcp-timeout", "2h"})
                  .rfind("--conntrack-tcp-timeout was removed: TCP connections are not tracked", 0),
              0u);
    EXPECT_NE(flag_error({"-"}).find("unexpected argument \"-\""), std::string::npos);
    EXPECT_NE(flag_error({"--", "x"}).find("unexpected argument"), std::string::npos);
    EXPECT_NE(flag_error({"--log-level", "\xff"}).find("--log-level: value \"\xef\xbf\xbd\""),
              std::string::npos);
    EXPECT_NE(flag_error({"stray"}).find("unexpected argument \"stray\""), std::string::npos);
    EXPECT_NE(flag_error({"--log-level"}).find("--log-level"), std::string::npos);
    EXPECT_EQ(flag_error({"--config", ""}), "--config: value \"\" is not a path");
}

// Found by tests/fuzz (daemon_config): a number too large for a double threw past the
// parse_error handler, aborting flowwalld at start.
TEST(DaemonConfig, ANumberTooLargeForADoubleIsAnError) {
    EXPECT_EQ(file_error(R"({"log-level": 1e999})"),
              kOrigin + ": not valid JSON: number overflow parsing '1e999'");
}

// Found while fuzzing (docs/fuzzing.md), though too deep for the fuzzers' inputs: showing a
// value nested this deep in the error recursed once per level and overflowed the stack.
TEST(DaemonConfig, DeeplyNestedValuesAreElidedInErrors) {
    const std::string nested = std::string(500'000, '[') + std::string(500'000, ']');
    EXPECT_EQ(file_error(R"({"log-level": )" + nested + "}"),
              kOrigin + ": key \"log-level\": value [...] is array, expected a string");
}

// Found by tests/fuzz (daemon_config): the unknown option was echoed with its newline.
TEST(LoadDaemonConfig, ErrorsStayOneLineWhateverTheArgumentsHold) {
    EXPECT_EQ(flag_error({"--log-\nlevel", "info"}),
              "--log-?level: unknown option; did you mean --log-level? (see --help)");
}

// Found by tests/fuzz (daemon_config): --print-config threw, aborting flowwalld, on a path
// that is not UTF-8, which no config file (JSON) can hold.
TEST(LoadDaemonConfig, FlagValuesThatAreNotUtf8AreRefused) {
    EXPECT_EQ(flag_error({"--socket", "/run/\xe1.sock", "--print-config"}),
              "--socket: value \"/run/\xef\xbf\xbd.sock\" is not UTF-8 text");
}

TEST(LoadDaemonConfig, HelpListsEveryOptionWithItsDefault) {
    auto outcome = load_daemon_config({"--help", "--log-level", "loud"});
    ASSERT_TRUE(outcome.ok());
    ASSERT_TRUE(outcome.value().exit_now);
    const auto& help = outcome.value().text;
    for (const char* expected : {"--log-level",
                                 "(default: info)",
                                 "--socket",
                                 "(default: /run/flowwall/flowwall.sock)",
                                 "--state-dir",
                                 "--bpffs-dir",
                                 "--docker ",
                                 "(default: true)",
                                 "--docker-socket",
                                 "--resync-interval",
                                 "(default: 30s)",
                                 "--endpoints-file",
                                 "(default: none)",
                                 "--identity-from",
                                 "(default: image)",
                                 "--default-mode",
                                 "(default: learn)",
                                 "--attach-mode",
                                 "(default: auto)",
                                 "--ipcache-entries",
                                 "(default: 65536)",
                                 "--cidr-entries",
                                 "--policy-entries",
                                 "--mode-entries",
                                 "--conntrack-entries",
                                 "--dedup-entries",
                                 "--event-buffer-bytes",
                                 "(default: 1048576)",
                                 "--conntrack-other-timeout",
                                 "(default: 1m)",
                                 "--event-dedup-interval",
                                 "(default: 5s)",
                                 "--config",
                                 "--cleanup",
                                 "--version",
                                 "--print-config"})
        EXPECT_NE(help.find(expected), std::string::npos) << expected << "\n" << help;
}

TEST(LoadDaemonConfig, VersionAndPrintConfigExitWithTheirText) {
    auto version = load_daemon_config({"--version"});
    ASSERT_TRUE(version.ok());
    EXPECT_TRUE(version.value().exit_now);
    EXPECT_EQ(version.value().text, "flowwalld " FLOWWALL_EXPECTED_VERSION "\n");

    TempDir dir;
    TempDir::write(dir / "config.json", R"({"default-mode": "alert"})");
    auto printed = load_daemon_config(
        with_missing_config(dir, {"--print-config", "--event-dedup-interval", "1m30s"}));
    ASSERT_TRUE(printed.ok()) << printed.error().message;
    EXPECT_TRUE(printed.value().exit_now);
    const auto& text = printed.value().text;
    EXPECT_NE(text.find("\"default-mode\": \"alert\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"event-dedup-interval\": \"1m30s\""), std::string::npos) << text;
}

} // namespace
} // namespace flowwall::config

namespace flowwall::config {
namespace {

TEST(DaemonConfig, LearningOptions) {
    DaemonConfig config;
    auto status = apply_config_json(R"({
        "learning-period": "30m", "learning-quiet": "5m", "after-learning": "block",
        "learning-period-overrides": "web=2h,db=0s", "audit-log": "/var/log/fw/a.jsonl",
        "audit-log-max-bytes": 1048576, "node-name": "node-1"})",
                                    "test", config);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_EQ(config.learning_period, std::chrono::minutes(30));
    EXPECT_EQ(config.learning_quiet, std::chrono::minutes(5));
    EXPECT_EQ(config.after_learning, FW_MODE_BLOCK);
    EXPECT_EQ(config.learning_period_overrides.at("web"), std::chrono::hours(2));
    EXPECT_EQ(config.learning_period_overrides.at("db"), std::chrono::milliseconds(0));
    EXPECT_EQ(config.audit_log_max_bytes, 1048576u);
    EXPECT_EQ(config.node_name, "node-1");

    for (const char* bad :
         {R"({"after-learning": "learn"})", R"({"learning-period-overrides": "web"})",
          R"({"learning-period-overrides": "web=soon"})",
          R"({"learning-period-overrides": "-x=1h"})", R"({"node-name": "has space"})",
          R"({"audit-log-max-bytes": 10})"}) {
        DaemonConfig untouched;
        auto rejected = apply_config_json(bad, "test", untouched);
        EXPECT_FALSE(rejected.ok()) << bad;
    }
}

} // namespace
} // namespace flowwall::config

namespace flowwall::config {
namespace {

TEST(DaemonConfig, DenyListOptions) {
    DaemonConfig config;
    EXPECT_TRUE(config.uplinks_automatic);
    auto status = apply_config_json(R"({"uplinks": "eth0,bond0", "xdp-mode": "generic",
        "allow-prefixes": "192.0.2.0/24,2001:db8::/32",
        "entities": "payments-api=203.0.113.0/24,2001:db8:5::/48;partner=198.51.100.0/24"})",
                                    "test", config);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_FALSE(config.uplinks_automatic);
    EXPECT_EQ(config.uplinks, (std::vector<std::string>{"eth0", "bond0"}));
    EXPECT_EQ(config.xdp_mode, datapath::XdpMode::generic);
    ASSERT_EQ(config.allow_prefixes.size(), 2u);
    EXPECT_EQ(config.allow_prefixes[1].to_string(), "2001:db8::/32");
    ASSERT_EQ(config.entities.size(), 2u);
    EXPECT_EQ(config.entities.at("payments-api").size(), 2u);
    // Printed and read back unchanged.
    DaemonConfig reread;
    auto text = config_to_json(config);
    ASSERT_TRUE(apply_config_json(text, "printed", reread).ok()) << text;
    EXPECT_EQ(config_to_json(reread), text);
    ASSERT_TRUE(apply_config_json(R"({"uplinks": ""})", "test", reread).ok());
    EXPECT_FALSE(reread.uplinks_automatic);
    EXPECT_TRUE(reread.uplinks.empty());

    for (const char* bad :
         {R"({"uplinks": "eth0,,x"})", R"({"xdp-mode": "fast"})",
          R"({"allow-prefixes": "192.0.2.1/24"})", R"({"entities": "world=203.0.113.0/24"})",
          R"({"entities": "a=203.0.113.0/24;a=198.51.100.0/24"})", R"({"entities": "a"})"}) {
        DaemonConfig untouched;
        auto refused = apply_config_json(bad, "test", untouched);
        EXPECT_FALSE(refused.ok()) << bad;
    }
}

} // namespace
} // namespace flowwall::config
