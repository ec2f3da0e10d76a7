// SPDX-License-Identifier: Apache-2.0
#include "src/policy/modes.h"

#include <gtest/gtest.h>

namespace flowwall::policy {
namespace {

TEST(Modes, ParseAndNameRoundTrip) {
    for (const char* name : {"learn", "alert", "block", "off"}) {
        auto mode = parse_mode(name);
        ASSERT_TRUE(mode.ok()) << name;
        EXPECT_STREQ(mode_name(mode.value()), name);
    }
    EXPECT_EQ(parse_mode("learn").value(), FW_MODE_LEARN);
    EXPECT_EQ(parse_mode("block").value(), FW_MODE_BLOCK);
    EXPECT_STREQ(mode_name(FW_MODE_UNSET), "unset");
    EXPECT_STREQ(mode_name(200), "invalid");
    auto bad = parse_mode("unset");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "\"unset\" is not a mode: use learn, alert, block or off");
}

} // namespace
} // namespace flowwall::policy
