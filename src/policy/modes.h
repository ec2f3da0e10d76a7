// SPDX-License-Identifier: Apache-2.0
// The modes of an identity (DESIGN.md, Datapath) by name, as people, the config, the API and
// the learning state write them. The numbers are the datapath's (abi.h enum fw_mode), so a mode
// goes into fw_modes_v1 as it is.
#pragma once

#include <cstdint>
#include <string_view>

#include "flowwall/abi.h"
#include "src/common/result.h"

namespace flowwall::policy {

// "learn" -> FW_MODE_LEARN, "alert", "block", "off"; the error shows the text and lists the
// modes.
Result<uint8_t> parse_mode(std::string_view text);

// The same, but the error is only the reason ("is not a mode: use learn, alert, block or off"),
// for callers that show the value themselves.
Result<uint8_t> mode_from_text(std::string_view text);

const char* mode_name(uint8_t mode); // "learn", "alert", "block", "off", "unset"

} // namespace flowwall::policy
