// SPDX-License-Identifier: Apache-2.0
// Endpoints files for flowwalld (--endpoints-file), written the way an operator's tool would.
#pragma once

#include "tests/support/netns_lab.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace flowwall::testing {

// {"name", "identity", "netns", "addresses": [v4, v6]}: one workload of the file.
nlohmann::json endpoint_entry(const std::string& name, const std::string& identity,
                              const Workload& workload);

// Replaces the file atomically, so the daemon never reads half of it.
void write_endpoints(const std::filesystem::path& path, const nlohmann::json& entries);

} // namespace flowwall::testing
