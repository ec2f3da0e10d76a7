// SPDX-License-Identifier: Apache-2.0
// The JSON shape of an audit record is a contract with scripts and SIEMs.
#include "src/audit/audit_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "tests/unit/audit/audit_test_support.h"

namespace flowwall::audit {
namespace {

using nlohmann::json;
using testing::example_time;
using testing::numbered_record;
namespace chrono = std::chrono;

TEST(AuditRecordJson, HasEveryKeyWithTheRightType) {
    auto record = numbered_record(7);
    json j = to_json(record);
    ASSERT_TRUE(j.is_object());
    for (const char* key : {"time", "node", "action", "src", "dst", "src_ip", "dst_ip", "protocol",
                            "src_workload", "dst_workload", "direction", "reason"}) {
        ASSERT_TRUE(j.contains(key)) << key;
        EXPECT_TRUE(j[key].is_string()) << key;
    }
    for (const char* key : {"port", "suppressed"}) {
        ASSERT_TRUE(j.contains(key)) << key;
        EXPECT_TRUE(j[key].is_number_unsigned()) << key;
    }
    EXPECT_EQ(j.size(), 14u);
    EXPECT_EQ(j["time"], "2026-11-22T18:00:00.130Z");
    EXPECT_EQ(j["action"], "alert");
    EXPECT_EQ(j["src"], "registry.local/team/web");
    EXPECT_EQ(j["src_ip"], "198.18.0.8");
    EXPECT_EQ(j["dst_ip"], "fd00::2");
    EXPECT_EQ(j["port"], 3306);
    EXPECT_EQ(j["protocol"], "tcp");
    EXPECT_EQ(j["src_workload"], "web-7");
    EXPECT_EQ(j["suppressed"], 7);
    EXPECT_EQ(j["direction"], "from_workload");
}

TEST(AuditRecordJson, EmptyFieldsAreEmptyStringsNotMissingKeys) {
    AuditRecord record;
    record.action = "block";
    json j = to_json(record);
    EXPECT_EQ(j.size(), 14u);
    EXPECT_EQ(j["src_workload"], "");
    EXPECT_EQ(j["time"], "1970-01-01T00:00:00.000Z");
}

TEST(AuditRecordJson, TimeIsRfc3339UtcWithMilliseconds) {
    EXPECT_EQ(format_time(example_time()), "2026-11-22T18:00:00.123Z");
    // Sub-millisecond parts are cut, not rounded up into the next second.
    EXPECT_EQ(format_time(example_time() + chrono::microseconds(876999)),
              "2026-11-22T18:00:00.999Z");
    // Before the epoch, floor keeps the date right.
    EXPECT_EQ(format_time(chrono::system_clock::time_point(chrono::milliseconds(-1))),
              "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(format_time(chrono::system_clock::time_point(
                  chrono::sys_days(chrono::year(2024) / 2 / 29) + chrono::hours(23) +
                  chrono::minutes(59) + chrono::seconds(59))),
              "2024-02-29T23:59:59.000Z");
}

TEST(AuditRecordJson, ParsesTimes) {
    auto parsed = parse_time("2026-11-22T18:00:00.123Z");
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed.value(), example_time());

    parsed = parse_time("2026-11-22T19:30:00.123456+01:30");
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed.value(), example_time());

    parsed = parse_time("2026-11-22T18:00:00.1Z");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed.value(), example_time() - chrono::milliseconds(23));

    parsed = parse_time("2026-11-22T18:00:00Z");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(format_time(parsed.value()), "2026-11-22T18:00:00.000Z");

    for (const char* bad :
         {"", "2026-11-22", "2026-11-22T18:00:00", "2026-11-22T18:00:00.Z", "2026-13-01T00:00:00Z",
          "2026-02-30T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T18:00:00Zjunk",
          "2026-11-22T18:00:00+0100", "26-11-22T18:00:00Z"}) {
        auto result = parse_time(bad);
        ASSERT_FALSE(result) << bad;
        EXPECT_NE(result.error().message.find("RFC 3339"), std::string::npos) << bad;
    }
}

TEST(AuditRecordJson, RoundTrips) {
    for (uint64_t n : {0u, 1u, 65535u}) {
        auto record = numbered_record(n);
        record.port = static_cast<uint16_t>(n);
        auto parsed = from_json(to_json(record));
        ASSERT_TRUE(parsed) << parsed.error().to_string();
        EXPECT_EQ(parsed.value(), record);
        // And through the text of a log line.
        auto line = to_json_line(record);
        ASSERT_EQ(line.back(), '\n');
        EXPECT_EQ(line.find('\n'), line.size() - 1);
        parsed = from_json(json::parse(line));
        ASSERT_TRUE(parsed);
        EXPECT_EQ(parsed.value(), record);
    }
}

TEST(AuditRecordJson, LineStaysOneLineWhateverTheNames) {
    auto record = numbered_record(1);
    record.src_workload = "evil\nname\r\t\"quoted\"";
    record.dst_workload = std::string("not utf-8: \xff\xfe", 13);
    auto line = to_json_line(record);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    auto parsed = from_json(json::parse(line));
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed.value().src_workload, record.src_workload);
    EXPECT_NE(parsed.value().dst_workload.find("not utf-8"), std::string::npos);
}

TEST(AuditRecordJson, OptionalKeysDefault) {
    json j = {{"time", "2026-11-22T18:00:00.123Z"},
              {"action", "block"},
              {"src", "web"},
              {"dst", "db"},
              {"src_ip", "198.18.0.1"},
              {"dst_ip", "198.18.0.2"},
              {"port", 5432},
              {"protocol", "tcp"}};
    auto parsed = from_json(j);
    ASSERT_TRUE(parsed) << parsed.error().to_string();
    EXPECT_EQ(parsed.value().node, "");
    EXPECT_EQ(parsed.value().suppressed, 0u);
    EXPECT_EQ(parsed.value().port, 5432);
    EXPECT_EQ(parsed.value().time, example_time());
}

TEST(AuditRecordJson, RejectsWhatIsNotARecordWithoutThrowing) {
    json good = to_json(numbered_record(3));
    struct Case {
        const char* key;
        json value; // null: remove the key
        const char* mentions;
    };
    for (const auto& c : std::initializer_list<Case>{
             {"time", nullptr, "time"},
             {"src", nullptr, "src"},
             {"port", nullptr, "port"},
             {"port", 65536, "port"},
             {"port", -1, "port"},
             {"port", "80", "port"},
             {"port", 80.5, "port"},
             {"suppressed", -3, "suppressed"},
             {"action", "allow", "action"},
             {"direction", "sideways", "direction"},
             {"node", 5, "node"},
             {"time", "yesterday", "RFC 3339"},
         }) {
        json j = good;
        if (c.value.is_null())
            j.erase(c.key);
        else
            j[c.key] = c.value;
        auto parsed = from_json(j);
        ASSERT_FALSE(parsed) << c.key << " = " << c.value;
        EXPECT_NE(parsed.error().message.find(c.mentions), std::string::npos)
            << parsed.error().message;
    }
    EXPECT_FALSE(from_json(json::array()));
    EXPECT_FALSE(from_json(json("text")));
    EXPECT_FALSE(from_json(json()));
    // The error message quotes the value, which must not throw on bytes that are not UTF-8.
    json invalid_utf8 = good;
    invalid_utf8["node"] = json::array({std::string("\xff")});
    auto parsed = from_json(invalid_utf8);
    ASSERT_FALSE(parsed);
    EXPECT_NE(parsed.error().message.find("node"), std::string::npos);
}

} // namespace
} // namespace flowwall::audit
