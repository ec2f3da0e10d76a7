// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/cidr_entities.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

namespace flowwall::denylist {
namespace {

using nlohmann::json;

TEST(CidrEntities, ConfigTextNamesPrefixes) {
    auto parsed = parse_entity_text("payments-api=203.0.113.0/24,2001:db8:5::/48");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed.value().first, "payments-api");
    EXPECT_EQ(parsed.value().second.size(), 2u);
    EXPECT_FALSE(parse_entity_text("payments-api").ok());
    EXPECT_FALSE(parse_entity_text("world=203.0.113.0/24").ok());
    EXPECT_FALSE(parse_entity_text("x=203.0.113.1/24").ok()); // host bits
    EXPECT_FALSE(parse_entity_text("x=").ok());
}

TEST(CidrEntities, AddedEntitiesPersistAndConfiguredOnesStayFixed) {
    testing::TempDir dir;
    EntityPrefixes configured{{"partner", {IpPrefix::parse("198.51.100.0/24").value()}}};
    int changes = 0;
    {
        auto entities = CidrEntities::open(dir.path(), configured);
        ASSERT_TRUE(entities.ok()) << entities.error().message;
        entities.value()->on_change([&](const EntityPrefixes& all) {
            ++changes;
            EXPECT_TRUE(all.count("partner"));
        });
        ASSERT_TRUE(
            entities.value()->add("payments-api", {"203.0.113.0/24", "203.0.113.0/24"}).ok());
        ASSERT_TRUE(entities.value()->add("payments-api", {"2001:db8:5::/48"}).ok());
        auto taken = entities.value()->add("other", {"203.0.113.0/24"});
        ASSERT_FALSE(taken.ok());
        EXPECT_EQ(taken.error().errnum, EEXIST);
        EXPECT_EQ(entities.value()->remove("partner", {}).error().errnum, EINVAL);
        EXPECT_EQ(entities.value()->remove("nobody", {}).error().errnum, ENOENT);
        EXPECT_FALSE(entities.value()->add("host", {"203.0.113.0/24"}).ok());
    }
    EXPECT_EQ(changes, 2);
    auto reopened = CidrEntities::open(dir.path(), configured);
    ASSERT_TRUE(reopened.ok());
    auto view = reopened.value()->view();
    ASSERT_EQ(view.size(), 2u);
    EXPECT_EQ(view[0],
              (json{{"name", "partner"}, {"prefixes", {"198.51.100.0/24"}}, {"from", "config"}}));
    EXPECT_EQ(view[1].at("prefixes"), json({"203.0.113.0/24", "2001:db8:5::/48"}));
    ASSERT_TRUE(reopened.value()->remove("payments-api", {"203.0.113.0/24"}).ok());
    ASSERT_TRUE(reopened.value()->remove("payments-api", {}).ok());
    EXPECT_EQ(reopened.value()->all().size(), 1u);
}

TEST(CidrEntities, ACorruptFileIsAnErrorNamingIt) {
    testing::TempDir dir;
    testing::TempDir::write(dir / "entities.json", "[1,2");
    auto entities = CidrEntities::open(dir.path(), {});
    ASSERT_FALSE(entities.ok());
    EXPECT_NE(entities.error().message.find("entities.json"), std::string::npos);
}

} // namespace
} // namespace flowwall::denylist
