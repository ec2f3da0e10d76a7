// SPDX-License-Identifier: Apache-2.0
// The human-readable form of the control API's documents, for the CLI without --json.
// Pure functions of the JSON, so the layout is unit-tested without a daemon.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace flowwall::cli {

std::string render_status(const nlohmann::json& status);
std::string render_endpoints(const nlohmann::json& endpoints);
std::string render_identities(const nlohmann::json& identities);

// 192 -> "3m12s"
std::string render_uptime(long long seconds);

} // namespace flowwall::cli
