// SPDX-License-Identifier: Apache-2.0
// flowwall: the CLI. Every command is one request to flowwalld's control API; --json prints
// the API's document unchanged (docs/api.md), so scripts and the daemon share one contract.
// Exit codes: 0 success, 1 the daemon could not do it (or is not running), 2 bad usage.
#include "src/api/control_client.h"
#include "src/cli/render.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

namespace {

using namespace flowwall;

struct Command {
    const char* name;
    const char* help;
    const char* path;
    std::function<std::string(const nlohmann::json&)> render;
};

int query(const std::string& socket, const Command& command, bool as_json) {
    api::ControlClient client(socket);
    auto document = client.get(command.path);
    if (!document) {
        std::fprintf(stderr, "flowwall %s: %s\n", command.name, document.error().message.c_str());
        return 1;
    }
    try {
        if (as_json)
            std::cout << document.value().dump(2) << '\n';
        else
            std::cout << command.render(document.value());
    } catch (const nlohmann::json::exception& error) {
        std::fprintf(stderr,
                     "flowwall %s: the daemon's answer is not what this CLI understands (%s); "
                     "are flowwall and flowwalld the same version?\n",
                     command.name, error.what());
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"flowwall: control and inspect the flowwall firewall on this node"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "flowwall " FLOWWALL_VERSION);
    std::string socket = "/run/flowwall/flowwall.sock";
    app.add_option("--socket", socket, "flowwalld's control socket")->capture_default_str();

    const Command commands[] = {
        {"status", "daemon version, uptime, sources and their health, datapath, counts",
         "/v1/status", cli::render_status},
        {"endpoints", "the workloads on this node: name, identity, addresses, interfaces",
         "/v1/endpoints", cli::render_endpoints},
        {"identities", "every known identity and its numeric id", "/v1/identities",
         cli::render_identities},
    };
    bool as_json = false;
    const Command* chosen = nullptr;
    for (const auto& command : commands) {
        CLI::App* sub = app.add_subcommand(command.name, command.help);
        sub->add_flag("--json", as_json, "print the API's JSON document (docs/api.md)");
        sub->callback([&chosen, &command] { chosen = &command; });
    }
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
        return 2;
    }
    return query(socket, *chosen, as_json);
}
