// SPDX-License-Identifier: Apache-2.0
// The human-readable form of the control API's documents, for the CLI without --json.
// Pure functions of the JSON, so the layout is unit-tested without a daemon.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace flowwall::cli {

std::string render_status(const nlohmann::json& status);
std::string render_endpoints(const nlohmann::json& endpoints);
std::string render_nodes(const nlohmann::json& nodes);
std::string render_identities(const nlohmann::json& identities);
std::string render_model(const nlohmann::json& model);
// One line: "2026-11-22T18:00:00.123Z block web (198.18.1.2) -> db (198.18.1.3) 5432/tcp".
std::string render_audit_record(const nlohmann::json& record);
// GET /v1/mode; `only` restricts the table to one identity (empty: all).
std::string render_modes(const nlohmann::json& modes, const std::string& only);
// GET /v1/graph as Graphviz: learned edges green, alerted orange, blocked red and dashed;
// world and host drawn apart from workloads. Render with `dot -Tpng`.
std::string render_dot(const nlohmann::json& graph);

// The answer of POST /v1/mode and /v1/learn.
std::string render_mode_change(const nlohmann::json& answer);

// 192 -> "3m12s"
std::string render_uptime(long long seconds);

} // namespace flowwall::cli
