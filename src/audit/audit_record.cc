// SPDX-License-Identifier: Apache-2.0
#include "src/audit/audit_record.h"

#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

namespace flowwall::audit {
namespace {

using nlohmann::json;
namespace chrono = std::chrono;

Error invalid(const std::string& what) {
    return Error{EINVAL, "audit record: " + what};
}

// For error messages: a value as JSON, without throwing on bytes that are not UTF-8.
std::string show(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Reads `count` decimal digits at `pos`, advancing it; -1 when they are not all digits.
int read_digits(std::string_view text, size_t& pos, size_t count) {
    if (pos + count > text.size())
        return -1;
    int value = 0;
    for (size_t i = 0; i < count; ++i) {
        char c = text[pos + i];
        if (c < '0' || c > '9')
            return -1;
        value = value * 10 + (c - '0');
    }
    pos += count;
    return value;
}

bool expect_char(std::string_view text, size_t& pos, std::string_view allowed) {
    if (pos >= text.size() || allowed.find(text[pos]) == std::string_view::npos)
        return false;
    ++pos;
    return true;
}

// A string member: required ones must be present; optional ones default to "".
Status read_string(const json& object, const char* key, bool required, std::string& out) {
    auto it = object.find(key);
    if (it == object.end())
        return required ? Status(invalid(std::string("missing \"") + key + "\"")) : Status();
    if (!it->is_string())
        return invalid(std::string("\"") + key + "\" is " + show(*it) + ", expected a string");
    out = it->get<std::string>();
    return {};
}

Status read_unsigned(const json& object, const char* key, bool required, uint64_t max,
                     uint64_t& out) {
    auto it = object.find(key);
    if (it == object.end())
        return required ? Status(invalid(std::string("missing \"") + key + "\"")) : Status();
    // A json built in code holds 80 as a signed integer; parsed text holds it as unsigned.
    bool in_range =
        it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0);
    if (!in_range || it->get<uint64_t>() > max)
        return invalid(std::string("\"") + key + "\" is " + show(*it) +
                       ", expected an integer from 0 to " + std::to_string(max));
    out = it->get<uint64_t>();
    return {};
}

} // namespace

std::string format_time(chrono::system_clock::time_point time) {
    // floor, not duration_cast: a time before 1970 must not round towards the epoch.
    auto ms = chrono::floor<chrono::milliseconds>(time);
    auto day = chrono::floor<chrono::days>(ms);
    chrono::year_month_day date{day};
    chrono::hh_mm_ss clock{ms - day};
    char buffer[40];
    std::snprintf(
        buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
        static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
        static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
        static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
    return buffer;
}

Result<chrono::system_clock::time_point> parse_time(std::string_view text) {
    auto bad = [&] {
        return invalid("time \"" + std::string(text) +
                       "\" is not RFC 3339 (e.g. 2026-11-22T18:00:00.123Z)");
    };
    size_t pos = 0;
    int year = read_digits(text, pos, 4);
    bool ok = year >= 0 && expect_char(text, pos, "-");
    int month = ok ? read_digits(text, pos, 2) : -1;
    ok = ok && month >= 0 && expect_char(text, pos, "-");
    int day = ok ? read_digits(text, pos, 2) : -1;
    ok = ok && day >= 0 && expect_char(text, pos, "Tt ");
    int hour = ok ? read_digits(text, pos, 2) : -1;
    ok = ok && hour >= 0 && expect_char(text, pos, ":");
    int minute = ok ? read_digits(text, pos, 2) : -1;
    ok = ok && minute >= 0 && expect_char(text, pos, ":");
    int second = ok ? read_digits(text, pos, 2) : -1;
    if (!ok || second < 0)
        return bad();

    chrono::year_month_day date{chrono::year(year), chrono::month(static_cast<unsigned>(month)),
                                chrono::day(static_cast<unsigned>(day))};
    // 60 is a leap second, which system_clock cannot represent: it becomes :59.
    if (!date.ok() || hour > 23 || minute > 59 || second > 60)
        return bad();

    int64_t millis = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 3)
                millis = millis * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0)
            return bad();
        for (size_t i = digits; i < 3; ++i)
            millis *= 10;
    }

    int offset_minutes = 0;
    if (expect_char(text, pos, "Zz")) {
        // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int off_hours = read_digits(text, pos, 2);
        bool off_ok = off_hours >= 0 && off_hours <= 23 && expect_char(text, pos, ":");
        int off_minutes = off_ok ? read_digits(text, pos, 2) : -1;
        if (!off_ok || off_minutes < 0 || off_minutes > 59)
            return bad();
        offset_minutes = sign * (off_hours * 60 + off_minutes);
    } else {
        return bad();
    }
    if (pos != text.size())
        return bad();

    auto local = chrono::sys_days(date) + chrono::hours(hour) + chrono::minutes(minute) +
                 chrono::seconds(second > 59 ? 59 : second) + chrono::milliseconds(millis);
    auto utc = local - chrono::minutes(offset_minutes);
    return chrono::time_point_cast<chrono::system_clock::duration>(utc);
}

json to_json(const AuditRecord& record) {
    return json{
        {"time", format_time(record.time)},
        {"node", record.node},
        {"action", record.action},
        {"src", record.src},
        {"dst", record.dst},
        {"src_ip", record.src_ip},
        {"dst_ip", record.dst_ip},
        {"port", record.port},
        {"protocol", record.protocol},
        {"src_workload", record.src_workload},
        {"dst_workload", record.dst_workload},
        {"suppressed", record.suppressed},
        {"direction", record.direction},
        {"reason", record.reason},
    };
}

std::string to_json_line(const AuditRecord& record) {
    std::string line = show(to_json(record));
    line += '\n';
    return line;
}

Result<AuditRecord> from_json(const json& object) {
    if (!object.is_object())
        return invalid("expected a JSON object, got " + show(object));
    AuditRecord record;
    std::string time;
    uint64_t port = 0;
    for (auto status : {
             read_string(object, "time", true, time),
             read_string(object, "node", false, record.node),
             read_string(object, "action", true, record.action),
             read_string(object, "src", true, record.src),
             read_string(object, "dst", true, record.dst),
             read_string(object, "src_ip", true, record.src_ip),
             read_string(object, "dst_ip", true, record.dst_ip),
             read_unsigned(object, "port", true, std::numeric_limits<uint16_t>::max(), port),
             read_string(object, "protocol", true, record.protocol),
             read_string(object, "src_workload", false, record.src_workload),
             read_string(object, "dst_workload", false, record.dst_workload),
             read_unsigned(object, "suppressed", false, std::numeric_limits<uint64_t>::max(),
                           record.suppressed),
             read_string(object, "direction", false, record.direction),
             read_string(object, "reason", false, record.reason),
         }) {
        if (!status)
            return status.error();
    }
    if (record.action != "alert" && record.action != "block")
        return invalid("\"action\" is \"" + record.action + "\", expected alert or block");
    if (!record.direction.empty() && record.direction != "from_workload" &&
        record.direction != "to_workload")
        return invalid("\"direction\" is \"" + record.direction +
                       "\", expected from_workload or to_workload");
    auto parsed = parse_time(time);
    if (!parsed)
        return parsed.error();
    record.time = parsed.value();
    record.port = static_cast<uint16_t>(port);
    return record;
}

} // namespace flowwall::audit
