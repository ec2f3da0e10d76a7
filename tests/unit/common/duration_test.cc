// SPDX-License-Identifier: Apache-2.0
#include "src/common/duration.h"

#include <gtest/gtest.h>

namespace flowwall::common {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnitsLargestFirst) {
    const std::pair<const char*, milliseconds> cases[] = {
        {"0", 0ms},           {"0s", 0ms},    {"500ms", 500ms}, {"30s", 30s},
        {"2m", 2min},         {"1h", 1h},     {"1h30m", 90min}, {"1h30m15s", 5415s},
        {"1m500ms", 60500ms}, {"168h", 168h}, {"90m", 90min},   {"1h0m", 1h},
    };
    for (auto [text, expected] : cases) {
        auto parsed = parse_duration(text);
        ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
        EXPECT_EQ(parsed.value(), expected) << text;
    }
}

TEST(ParseDuration, RejectsAmbiguousAndMalformedText) {
    const std::pair<const char*, const char*> cases[] = {
        {"30", "\"30\" has no unit"},
        {"", "\"\" is empty"},
        {"5x", "\"5x\" is not a duration"},
        {"s", "is not a duration"},
        {"-5s", "is not a duration"},
        {"1.5s", "is not a duration"},
        {"30s1h", "is not a duration"}, // smaller unit first: likely a typo
        {"1m1m", "is not a duration"},
        {" 5s", "is not a duration"},
        {"5s ", "is not a duration"},
        {"1d", "is not a duration"},
        {"99999999999999999999h", "is not a duration"},
        {"9999999999999h", "too long"},
    };
    for (auto [text, expected] : cases) {
        auto parsed = parse_duration(text);
        ASSERT_FALSE(parsed.ok()) << text;
        EXPECT_NE(parsed.error().message.find(expected), std::string::npos)
            << text << ": " << parsed.error().message;
        // Every rejection shows the forms that work.
        EXPECT_TRUE(parsed.error().message.find("30s") != std::string::npos ||
                    parsed.error().message.find("too long") != std::string::npos)
            << parsed.error().message;
    }
}

TEST(FormatDuration, PrintsTheShortestForm) {
    EXPECT_EQ(format_duration(0ms), "0");
    EXPECT_EQ(format_duration(500ms), "500ms");
    EXPECT_EQ(format_duration(30s), "30s");
    EXPECT_EQ(format_duration(90min), "1h30m");
    EXPECT_EQ(format_duration(6h), "6h");
    EXPECT_EQ(format_duration(61500ms), "1m1s500ms");
    for (auto duration : {1ms, 999ms, 1000ms, 3'599'999ms, 86'400'000ms})
        EXPECT_EQ(parse_duration(format_duration(duration)).value(), duration);
}

} // namespace
} // namespace flowwall::common
