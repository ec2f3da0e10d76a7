// SPDX-License-Identifier: Apache-2.0
// How an error message shows a JSON value that was wrong (config, endpoints file, model).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace flowwall::common {

// The value as compact JSON. dump() recurses once per nesting level, so a value nested a few
// hundred thousand deep (a file of '[') would overflow the stack: one nested deeper than 32
// levels is shown as "[...]" or "{...}".
std::string shown_in_error(const nlohmann::json& value);

} // namespace flowwall::common
