// SPDX-License-Identifier: Apache-2.0
// Durations as people write them ("30s", "500ms", "1h30m"): config keys, flags, `flowwall learn
// --for`, the learning state. One parser, so every place accepts and refuses the same text.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "src/common/result.h"

namespace flowwall::common {

// "1h", "30s", "500ms", "2m", "1h30m", "0"; units largest first, each once. The error shows the
// text and says what forms are allowed: "\"30\" has no unit: write e.g. 30s, ...".
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The same, but the error is only the reason, a verb phrase without the text ("has no unit:
// write e.g. ..."), for callers that show the value themselves (`--flag: value "30" ...`).
Result<std::chrono::milliseconds> duration_from_text(std::string_view text);

// "1h30m", "500ms", "0"; what parse_duration() reads back.
std::string format_duration(std::chrono::milliseconds duration);

} // namespace flowwall::common
