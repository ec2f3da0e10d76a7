// SPDX-License-Identifier: Apache-2.0
#include "src/policy/flow_text.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "src/common/identity_name.h"

namespace flowwall::policy {
namespace {

constexpr std::string_view kFlowForm =
    "expected PORT/PROTO, e.g. 3306/tcp (or icmp, icmpv6 alone: they have no ports)";

bool all_digits(std::string_view text) {
    if (text.empty())
        return false;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

// Decimal digits only: from_chars alone would take "+1" or " 1" in some forms and stop at
// "1x"; an exact match is what a strict reader needs.
template <typename T>
bool parse_number(std::string_view text, T max, T& out) {
    if (!all_digits(text) || text.size() > 20)
        return false;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > max)
        return false;
    out = static_cast<T>(value);
    return true;
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_lower(std::string_view text, std::string_view name) {
    if (text.size() != name.size())
        return false;
    for (size_t i = 0; i < text.size(); ++i) {
        if (lower(text[i]) != name[i])
            return false;
    }
    return true;
}

// Howard Hinnant's civil-calendar algorithms: exact for every date we accept, and far
// cheaper than gmtime_r/timegm for the 200k times a 100k-flow save formats.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

unsigned days_in_month(int64_t year, unsigned month) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

// 2261-12-31T23:59:59Z: system_clock counts nanoseconds in 64 bits, which ends in 2262.
constexpr int64_t kMaxModelSeconds = 9214646399;
constexpr unsigned kMaxModelYear = 2261;

void put2(char* out, unsigned value) {
    out[0] = static_cast<char>('0' + value / 10);
    out[1] = static_cast<char>('0' + value % 10);
}

} // namespace

bool protocol_has_ports(uint8_t protocol) {
    return protocol == kProtocolTcp || protocol == kProtocolUdp;
}

const char* protocol_name(uint8_t protocol) {
    static const std::array<std::string, 256> kNames = [] {
        std::array<std::string, 256> names;
        for (size_t i = 0; i < names.size(); ++i)
            names[i] = std::to_string(i);
        names[kProtocolIcmp] = "icmp";
        names[kProtocolTcp] = "tcp";
        names[kProtocolUdp] = "udp";
        names[kProtocolIcmpv6] = "icmpv6";
        return names;
    }();
    return kNames[protocol].c_str();
}

std::string protocol_string(uint8_t protocol) {
    return protocol_name(protocol);
}

Result<uint8_t> parse_protocol(std::string_view text) {
    for (uint8_t protocol : {kProtocolTcp, kProtocolUdp, kProtocolIcmp, kProtocolIcmpv6}) {
        if (equals_lower(text, protocol_name(protocol)))
            return protocol;
    }
    uint8_t number = 0;
    if (parse_number<uint8_t>(text, 255, number))
        return number;
    return Error{EINVAL, "unknown protocol " + in_quotes(text) +
                             ": use tcp, udp, icmp, icmpv6 or a protocol number 0-255"};
}

Result<FlowKey> parse_flow(std::string_view src, std::string_view dst,
                           std::string_view port_proto) {
    FlowKey flow;
    if (auto valid = common::validate_identity_name(src); !valid)
        return Error{EINVAL, "source: " + one_line(valid.error().message, 300)};
    if (auto valid = common::validate_identity_name(dst); !valid)
        return Error{EINVAL, "destination: " + one_line(valid.error().message, 300)};
    flow.src = std::string(src);
    flow.dst = std::string(dst);

    if (port_proto.empty())
        return Error{EINVAL, "the port and protocol are missing; " + std::string(kFlowForm)};
    auto slash = port_proto.find('/');
    if (slash == std::string_view::npos) {
        if (all_digits(port_proto))
            return Error{EINVAL, "the protocol is missing after port " + in_quotes(port_proto) +
                                     "; " + std::string(kFlowForm)};
        auto protocol = parse_protocol(port_proto);
        if (!protocol)
            return Error{EINVAL, protocol.error().message + "; " + std::string(kFlowForm)};
        if (protocol_has_ports(protocol.value()))
            return Error{EINVAL, std::string(protocol_name(protocol.value())) + " needs a port; " +
                                     std::string(kFlowForm)};
        flow.protocol = protocol.value();
        return flow;
    }

    auto port_text = port_proto.substr(0, slash);
    auto protocol_text = port_proto.substr(slash + 1);
    if (!all_digits(port_text) && all_digits(protocol_text))
        return Error{EINVAL,
                     in_quotes(port_proto) + " has the port last; " + std::string(kFlowForm)};
    auto protocol = parse_protocol(protocol_text);
    if (!protocol)
        return Error{EINVAL, protocol.error().message + "; " + std::string(kFlowForm)};
    if (!protocol_has_ports(protocol.value()) && port_text == "0") {
        flow.protocol = protocol.value(); // "0/47": how a protocol known by number is written
        return flow;
    }
    if (!protocol_has_ports(protocol.value()))
        return Error{EINVAL, std::string(protocol_name(protocol.value())) +
                                 " has no ports: write it alone, not " + in_quotes(port_proto) +
                                 "; " + std::string(kFlowForm)};
    uint16_t port = 0;
    if (!parse_number<uint16_t>(port_text, 65535, port) || port == 0)
        return Error{EINVAL, "port " + in_quotes(port_text) + " is not a number from 1 to 65535; " +
                                 std::string(kFlowForm)};
    flow.port = port;
    flow.protocol = protocol.value();
    return flow;
}

Status validate_flow_key(const FlowKey& flow) {
    if (auto valid = common::validate_identity_name(flow.src); !valid)
        return Error{EINVAL, "src: " + one_line(valid.error().message)};
    if (auto valid = common::validate_identity_name(flow.dst); !valid)
        return Error{EINVAL, "dst: " + one_line(valid.error().message)};
    if (flow.port != 0 && !protocol_has_ports(flow.protocol))
        return Error{EINVAL, "port: " + std::string(protocol_name(flow.protocol)) +
                                 " has no ports, the port must be 0, not " +
                                 std::to_string(flow.port)};
    return {};
}

namespace {
bool is_label_char(char c) {
    return c > 0x20 && c < 0x7f;
}
} // namespace

Status validate_label(std::string_view label) {
    if (label.empty())
        return Error{EINVAL, "empty name"};
    if (label.size() > kMaxLabelLength)
        return Error{EINVAL, in_quotes(label) + " is longer than " +
                                 std::to_string(kMaxLabelLength) + " characters"};
    for (size_t i = 0; i < label.size(); ++i) {
        if (!is_label_char(label[i]))
            return Error{EINVAL, in_quotes(label) + " has a space, a control or a non-ASCII " +
                                     "character at position " + std::to_string(i)};
    }
    return {};
}

std::string sanitize_label(std::string_view label) {
    std::string out(label.substr(0, kMaxLabelLength));
    for (char& c : out) {
        if (!is_label_char(c))
            c = '_';
    }
    return out;
}

std::string port_proto_string(const FlowKey& flow) {
    // A bare number would read as a port without its protocol.
    if (!protocol_has_ports(flow.protocol) && flow.port == 0)
        return flow.protocol == kProtocolIcmp || flow.protocol == kProtocolIcmpv6
                   ? std::string(protocol_name(flow.protocol))
                   : "0/" + std::string(protocol_name(flow.protocol));
    return std::to_string(flow.port) + "/" + protocol_name(flow.protocol);
}

std::string flow_string(const FlowKey& flow) {
    return flow.src + " " + flow.dst + " " + port_proto_string(flow);
}

TimePoint to_model_time(TimePoint time) {
    auto seconds = std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count();
    if (seconds < 0)
        seconds = 0;
    if (seconds > kMaxModelSeconds)
        seconds = kMaxModelSeconds;
    return TimePoint(std::chrono::seconds(seconds));
}

std::string format_time(TimePoint time) {
    char text[kTimeTextLength];
    format_time_to(time, text);
    return std::string(text, sizeof(text));
}

void format_time_to(TimePoint time, char (&text)[kTimeTextLength]) {
    auto seconds = to_model_time(time).time_since_epoch() / std::chrono::seconds(1);
    int64_t days = seconds / 86400;
    auto of_day = static_cast<unsigned>(seconds % 86400);
    int64_t year = 0;
    unsigned month = 0, day = 0;
    civil_from_days(days, year, month, day);
    std::memcpy(text, "0000-00-00T00:00:00Z", kTimeTextLength);
    auto y = static_cast<unsigned>(year);
    put2(&text[0], y / 100);
    put2(&text[2], y % 100);
    put2(&text[5], month);
    put2(&text[8], day);
    put2(&text[11], of_day / 3600);
    put2(&text[14], of_day / 60 % 60);
    put2(&text[17], of_day % 60);
}

Result<TimePoint> parse_time(std::string_view text) {
    auto bad = [&](std::string_view why) -> Error {
        return Error{EINVAL, in_quotes(text) + " is not a UTC time like 2026-11-22T18:00:00Z (" +
                                 std::string(why) + ")"};
    };
    auto field = [&](size_t at, size_t length, unsigned& out) {
        return at + length <= text.size() &&
               parse_number<unsigned>(text.substr(at, length), 9999, out);
    };
    unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!field(0, 4, year) || text.size() < 5 || text[4] != '-' || !field(5, 2, month) ||
        text.size() < 8 || text[7] != '-' || !field(8, 2, day) || text.size() < 11 ||
        (text[10] != 'T' && text[10] != 't') || !field(11, 2, hour) || text.size() < 14 ||
        text[13] != ':' || !field(14, 2, minute) || text.size() < 17 || text[16] != ':' ||
        !field(17, 2, second))
        return bad("expected YYYY-MM-DDTHH:MM:SSZ");
    size_t at = 19;
    if (at < text.size() && text[at] == '.') {
        size_t digits = 0;
        while (++at < text.size() && text[at] >= '0' && text[at] <= '9')
            ++digits;
        if (digits == 0)
            return bad("no digits after the '.'");
    }
    if (at >= text.size() || (text[at] != 'Z' && text[at] != 'z'))
        return bad("it must end in Z: times are UTC");
    if (at + 1 != text.size())
        return bad("text after the Z");
    if (year < 1970 || year > kMaxModelYear)
        return bad("years 1970 to " + std::to_string(kMaxModelYear) + " only");
    if (month < 1 || month > 12)
        return bad("no such month");
    if (day < 1 || day > days_in_month(year, month))
        return bad("no such day");
    if (hour > 23 || minute > 59 || second > 59)
        return bad("no such time of day");
    int64_t seconds =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return TimePoint(std::chrono::seconds(seconds));
}

std::string one_line(std::string_view text, size_t max_chars) {
    std::string out;
    out.reserve(std::min(text.size(), max_chars) + 3);
    for (size_t i = 0; i < text.size() && i < max_chars; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
    }
    if (text.size() > max_chars)
        out += "...";
    return out;
}

std::string in_quotes(std::string_view text, size_t max_chars) {
    return "\"" + one_line(text, max_chars) + "\"";
}

} // namespace flowwall::policy
