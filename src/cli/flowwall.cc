// SPDX-License-Identifier: Apache-2.0
// flowwall: the CLI. Every command is one request to flowwalld's control API; --json prints
// the API's document unchanged (docs/api.md), so scripts and the daemon share one contract.
// Exit codes: 0 success, 1 the daemon could not do it (or is not running), 2 bad usage.
#include "src/cli/commands.h"

#include <cstdio>

int main(int argc, char** argv) {
    using namespace flowwall::cli;
    CLI::App app{"flowwall: control and inspect the flowwall firewall on this node"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "flowwall " FLOWWALL_VERSION);
    CliContext context;
    app.add_option("--socket", context.socket, "flowwalld's control socket")->capture_default_str();
    add_query_commands(app, context);
    add_control_commands(app, context);
    add_deny_commands(app, context);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForVersion& version) {
        return app.exit(version);
    } catch (const CLI::ParseError& error) {
        std::fprintf(stderr, "flowwall: %s (see flowwall --help)\n", error.what());
        return kExitUsage;
    }
    if (!context.action) {
        std::fprintf(stderr, "flowwall: no command given (see flowwall --help)\n");
        return kExitUsage;
    }
    return context.action();
}
