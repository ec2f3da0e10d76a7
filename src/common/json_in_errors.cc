// SPDX-License-Identifier: Apache-2.0
#include "src/common/json_in_errors.h"

#include <algorithm>

namespace flowwall::common {

namespace {
constexpr int kMaxShownDepth = 32;

bool nested_deeper_than(const nlohmann::json& value, int levels) {
    if (!value.is_structured())
        return false;
    return levels == 0 || std::any_of(value.begin(), value.end(), [&](const nlohmann::json& item) {
               return nested_deeper_than(item, levels - 1);
           });
}
} // namespace

std::string shown_in_error(const nlohmann::json& value) {
    if (nested_deeper_than(value, kMaxShownDepth))
        return value.is_array() ? "[...]" : "{...}";
    return value.dump();
}

} // namespace flowwall::common
