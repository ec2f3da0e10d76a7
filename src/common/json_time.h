// SPDX-License-Identifier: Apache-2.0
// Times and durations as every JSON document of flowwall writes them (the control API, the
// audit, Radar): so `flowwall status --json` and the audit log agree on one spelling.
#pragma once

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

namespace flowwall::common {

// A duration as whole seconds, the unit of every *_s field; nullopt gives null.
nlohmann::json whole_seconds(const std::optional<std::chrono::milliseconds>& duration);

// "2026-11-22T18:32:52Z"; the epoch (never) gives null.
nlohmann::json iso_time(std::chrono::system_clock::time_point time);

} // namespace flowwall::common
