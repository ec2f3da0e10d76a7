// SPDX-License-Identifier: Apache-2.0
// The human-readable form of the deny list and entity documents (GET /v1/deny, /v1/deny/show,
// /v1/entities and the answers of their changes). Pure functions of the JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace flowwall::cli {

// One line per list: name, role, direction, source, prefixes, drops, state.
std::string render_deny_lists(const nlohmann::json& lists);
// One list in full: its settings, refresh state, what it covers, then its entries.
std::string render_deny_list(const nlohmann::json& list);
// The answer of POST /v1/deny/refresh.
std::string render_deny_refresh(const nlohmann::json& answer);
// The "outside" part of GET /v1/status: lists, uplinks and their XDP mode, failing feeds.
std::string render_outside(const nlohmann::json& outside);
// GET /v1/entities: NAME  PREFIXES
std::string render_entities(const nlohmann::json& entities);

} // namespace flowwall::cli
