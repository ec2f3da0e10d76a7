// SPDX-License-Identifier: Apache-2.0
#include "src/policy/modes.h"

#include <cerrno>
#include <string>

#include <nlohmann/json.hpp>

namespace flowwall::policy {

Result<uint8_t> mode_from_text(std::string_view text) {
    if (text == "learn")
        return static_cast<uint8_t>(FW_MODE_LEARN);
    if (text == "alert")
        return static_cast<uint8_t>(FW_MODE_ALERT);
    if (text == "block")
        return static_cast<uint8_t>(FW_MODE_BLOCK);
    if (text == "off")
        return static_cast<uint8_t>(FW_MODE_OFF);
    return Error{EINVAL, "is not a mode: use learn, alert, block or off"};
}

Result<uint8_t> parse_mode(std::string_view text) {
    auto mode = mode_from_text(text);
    if (!mode) {
        // Text from a command line need not be UTF-8: shown with replacements, never thrown on.
        auto quoted = nlohmann::json(std::string(text))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return Error{EINVAL, quoted + " " + mode.error().message};
    }
    return mode;
}

const char* mode_name(uint8_t mode) {
    switch (mode) {
    case FW_MODE_UNSET:
        return "unset";
    case FW_MODE_LEARN:
        return "learn";
    case FW_MODE_OFF:
        return "off";
    case FW_MODE_ALERT:
        return "alert";
    case FW_MODE_BLOCK:
        return "block";
    }
    return "invalid";
}

} // namespace flowwall::policy
