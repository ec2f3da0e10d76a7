// SPDX-License-Identifier: Apache-2.0
#include "src/common/duration.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

namespace flowwall::common {

using std::chrono::milliseconds;

Result<milliseconds> duration_from_text(std::string_view text) {
    const auto forms = std::string(": write e.g. 30s, 500ms, 2m or 1h30m (units h, m, s, ms, "
                                   "largest first; 0 needs no unit)");
    if (text == "0")
        return milliseconds(0);
    if (text.empty())
        return Error{EINVAL, "is empty" + forms};
    if (text.find_first_not_of("0123456789") == std::string_view::npos)
        return Error{EINVAL, "has no unit" + forms};

    constexpr std::array<std::pair<std::string_view, int64_t>, 4> kUnits = {
        {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};
    // Bounded well below overflow: no option accepts more than a week anyway.
    constexpr uint64_t kMaxMilliseconds = uint64_t{1} << 52;
    uint64_t total = 0;
    size_t smallest_unit_so_far = 0; // index into kUnits; units must go down
    bool first = true;
    while (!text.empty()) {
        uint64_t number = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (ec != std::errc() || end == text.data() || number > kMaxMilliseconds)
            return Error{EINVAL, "is not a duration" + forms};
        text.remove_prefix(static_cast<size_t>(end - text.data()));
        // "ms" before "m": the longer unit wins.
        std::optional<size_t> unit;
        for (size_t candidate : {3u, 0u, 1u, 2u}) {
            if (text.substr(0, kUnits[candidate].first.size()) == kUnits[candidate].first) {
                unit = candidate;
                break;
            }
        }
        if (!unit || (!first && *unit <= smallest_unit_so_far))
            return Error{EINVAL, "is not a duration" + forms};
        text.remove_prefix(kUnits[*unit].first.size());
        auto unit_ms = static_cast<uint64_t>(kUnits[*unit].second);
        if (number > kMaxMilliseconds / unit_ms)
            return Error{EINVAL, "is too long a duration"};
        total += number * unit_ms;
        if (total > kMaxMilliseconds)
            return Error{EINVAL, "is too long a duration"};
        smallest_unit_so_far = *unit;
        first = false;
    }
    return milliseconds(static_cast<int64_t>(total));
}

Result<milliseconds> parse_duration(std::string_view text) {
    auto duration = duration_from_text(text);
    if (!duration) {
        // Text from a command line need not be UTF-8: shown with replacements, never thrown on.
        auto quoted = nlohmann::json(std::string(text))
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return Error{EINVAL, quoted + " " + duration.error().message};
    }
    return duration;
}

std::string format_duration(milliseconds duration) {
    if (duration.count() == 0)
        return "0";
    if (duration.count() < 0)
        return "-" + format_duration(-duration);
    std::string text;
    auto remaining = duration.count();
    for (auto [unit, size] :
         {std::pair{"h", 3'600'000LL}, {"m", 60'000LL}, {"s", 1'000LL}, {"ms", 1LL}}) {
        if (remaining >= size) {
            text += std::to_string(remaining / size) + unit;
            remaining %= size;
        }
    }
    return text;
}

} // namespace flowwall::common
