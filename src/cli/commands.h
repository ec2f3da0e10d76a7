// SPDX-License-Identifier: Apache-2.0
// The CLI's commands, each one request (or one stream) to flowwalld's control API. Commands
// register themselves on the CLI11 app and leave the work to run after parsing in `action`.
#pragma once

#include "src/api/control_client.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace flowwall::cli {

// Exit codes are part of the CLI's contract: scripts rely on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1; // the daemon refused, failed, or is not running
inline constexpr int kExitUsage = 2;  // bad arguments; nothing was sent

struct CliContext {
    std::string socket = api::kDefaultControlSocket.string();
    std::function<int()> action; // set by the chosen subcommand's callback
    api::ControlClient client() const { return api::ControlClient(socket); }
};

// status, endpoints, identities, model show, events
void add_query_commands(CLI::App& app, CliContext& context);
// mode, learn, model export/import/allow/remove. Call after add_query_commands(), which
// creates the `model` subcommand.
void add_control_commands(CLI::App& app, CliContext& context);

// deny list|show|create|add|remove|delete|refresh, entity list|add|remove
void add_deny_commands(CLI::App& app, CliContext& context);

// "flowwall <command>: <message>" on stderr, returns kExitFailed.
int fail(const std::string& command, const std::string& message);

} // namespace flowwall::cli
