// SPDX-License-Identifier: Apache-2.0
#include "src/common/json_time.h"

#include <ctime>

namespace flowwall::common {

nlohmann::json iso_time(std::chrono::system_clock::time_point time) {
    if (time.time_since_epoch().count() == 0)
        return nullptr;
    std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

nlohmann::json whole_seconds(const std::optional<std::chrono::milliseconds>& duration) {
    if (!duration)
        return nullptr;
    return std::chrono::duration_cast<std::chrono::seconds>(*duration).count();
}

} // namespace flowwall::common
