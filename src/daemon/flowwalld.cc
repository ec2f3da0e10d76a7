// SPDX-License-Identifier: Apache-2.0
// flowwalld: the per-node daemon. Reads its configuration, then hands over to run_daemon()
// (or run_cleanup() for --cleanup).
#include "src/config/daemon_config.h"
#include "src/daemon/daemon.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    using namespace flowwall;
    std::vector<std::string> args(argv + 1, argv + argc);
    auto loaded = config::load_daemon_config(args);
    if (!loaded) {
        std::fprintf(stderr, "flowwalld: %s\n", loaded.error().message.c_str());
        return 2;
    }
    if (loaded.value().exit_now) {
        std::fputs(loaded.value().text.c_str(), stdout);
        return 0;
    }
    const config::DaemonConfig& config = loaded.value().config;

    // stderr, no colours and no time stamp of our own: journald adds both when it runs us.
    auto logger = spdlog::stderr_logger_mt("flowwalld");
    logger->set_pattern("%l: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(config.log_level));

    try {
        return config.cleanup ? daemon::run_cleanup(config) : daemon::run_daemon(config);
    } catch (const std::exception& error) {
        spdlog::critical("cannot start: {}", error.what());
        return 1;
    }
}
