// SPDX-License-Identifier: Apache-2.0
#include "src/common/identity_name.h"

#include <gtest/gtest.h>

#include <string>

namespace flowwall::common {
namespace {

TEST(ValidateIdentityName, AcceptsWhatImagesAndUsersWrite) {
    for (const char* name : {"web", "registry.local:5000/team/web", "mysql:5.7", "a_b-c.d",
                             "cidr:203.0.113.0/24", "x@y", "A"})
        EXPECT_TRUE(validate_identity_name(name).ok()) << name;
    EXPECT_TRUE(validate_identity_name(std::string(200, 'a')).ok());
}

TEST(ValidateIdentityName, SaysWhatIsWrong) {
    auto empty = validate_identity_name("");
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.error().message.find("empty"), std::string::npos);

    auto too_long = validate_identity_name(std::string(201, 'a'));
    ASSERT_FALSE(too_long.ok());
    EXPECT_NE(too_long.error().message.find("201"), std::string::npos);

    auto dash = validate_identity_name("-web");
    ASSERT_FALSE(dash.ok());
    EXPECT_NE(dash.error().message.find("'-'"), std::string::npos);

    auto space = validate_identity_name("my web");
    ASSERT_FALSE(space.ok());
    EXPECT_NE(space.error().message.find("' ' at position 2"), std::string::npos)
        << space.error().message;

    auto control = validate_identity_name("web\n");
    ASSERT_FALSE(control.ok());
    EXPECT_NE(control.error().message.find("0x0a"), std::string::npos) << control.error().message;
}

} // namespace
} // namespace flowwall::common
