// SPDX-License-Identifier: Apache-2.0
#include "src/identity/identity_naming.h"
#include "src/identity/workload_source.h"

#include <gtest/gtest.h>

namespace flowwall::identity {
namespace {

const std::string kDigest =
    "sha256:94f8d5c2f9a1b0c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";

struct ImageCase {
    std::string image;
    std::string repository;
    std::string with_tag;
};

TEST(ImageRepository, StripsTagAndDigestButNotRegistryPorts) {
    const ImageCase cases[] = {
        {"mysql", "mysql", "mysql"},
        {"mysql:5.7", "mysql", "mysql:5.7"},
        {"library/mysql:5.7", "library/mysql", "library/mysql:5.7"},
        {"registry.local/team/web:2", "registry.local/team/web", "registry.local/team/web:2"},
        {"host:5000/a/b", "host:5000/a/b", "host:5000/a/b"},
        {"host:5000/a/b:1.2", "host:5000/a/b", "host:5000/a/b:1.2"},
        {"registry.local:5000/team/web:2@" + kDigest, "registry.local:5000/team/web",
         "registry.local:5000/team/web:2"},
        {"a/b:tag@" + kDigest, "a/b", "a/b:tag"},
        {"nginx@" + kDigest, "nginx", "nginx"},
        {"localhost:5000/nginx@" + kDigest, "localhost:5000/nginx", "localhost:5000/nginx"},
        {"[fd00::1]:5000/app:3", "[fd00::1]:5000/app", "[fd00::1]:5000/app:3"},
        {"", "unknown", "unknown"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(image_repository(c.image), c.repository) << c.image;
        EXPECT_EQ(image_repository_with_tag(c.image), c.with_tag) << c.image;
    }
}

TEST(ImageRepository, ContainersStartedFromAnImageIdAreNamedByTheShortId) {
    EXPECT_EQ(image_repository(kDigest), "sha256:94f8d5c2f9a1");
    EXPECT_EQ(image_repository_with_tag(kDigest), "sha256:94f8d5c2f9a1");
    EXPECT_NE(image_repository("sha256:aaaaaaaaaaaaaaaa"),
              image_repository("sha256:bbbbbbbbbbbbbbbb"));
}

TEST(ImageRepository, ADegenerateReferenceIsNeverAnEmptyName) {
    EXPECT_EQ(image_repository(":tag"), "unknown");
    EXPECT_EQ(image_repository("@" + kDigest), "unknown");
    EXPECT_EQ(image_repository_with_tag(":tag"), "unknown");
}

TEST(IdentityNaming, ParsesEveryFormAndPrintsItBack) {
    for (const char* text :
         {"image", "image-tag", "label:app", "label:com.docker.swarm.service.name"}) {
        auto naming = IdentityNaming::parse(text);
        ASSERT_TRUE(naming.ok()) << text;
        EXPECT_EQ(naming.value().to_string(), text);
    }
    EXPECT_EQ(IdentityNaming::parse("image-tag").value().from,
              IdentityNaming::From::image_with_tag);
    auto label = IdentityNaming::parse("label:app").value();
    EXPECT_EQ(label.from, IdentityNaming::From::label);
    EXPECT_EQ(label.label, "app");
}

TEST(IdentityNaming, RejectsOtherFormsAndListsTheAllowedOnes) {
    for (const char* text : {"", "images", "tag", "label:", "Label:app"}) {
        auto naming = IdentityNaming::parse(text);
        ASSERT_FALSE(naming.ok()) << text;
        EXPECT_NE(naming.error().message.find("label:NAME"), std::string::npos)
            << naming.error().message;
    }
    EXPECT_NE(IdentityNaming::parse("bogus").error().message.find("image-tag"), std::string::npos);
}

TEST(IdentityNaming, NameForFollowsTheRuleAndFallsBackToTheImage) {
    std::map<std::string, std::string> labels = {
        {"app", "shop"}, {"empty", ""}, {"spaced", "my app"}};
    EXPECT_EQ(IdentityNaming{}.name_for("mysql:5.7", labels), "mysql");
    EXPECT_EQ(IdentityNaming::parse("image-tag").value().name_for("mysql:5.7", labels),
              "mysql:5.7");
    EXPECT_EQ(IdentityNaming::parse("label:app").value().name_for("mysql:5.7", labels), "shop");
    EXPECT_EQ(IdentityNaming::parse("label:empty").value().name_for("mysql:5.7", labels), "mysql");
    EXPECT_EQ(IdentityNaming::parse("label:absent").value().name_for("mysql:5.7", labels), "mysql");
    EXPECT_EQ(IdentityNaming::parse("label:spaced").value().name_for("mysql:5.7", labels), "mysql")
        << "a label value that is no valid identity name falls back to the image";
    EXPECT_EQ(IdentityNaming::parse("label:absent").value().name_for("", labels), "unknown");
}

TEST(SourceState, HasPrintableNames) {
    EXPECT_STREQ(to_string(SourceState::starting), "starting");
    EXPECT_STREQ(to_string(SourceState::synced), "synced");
    EXPECT_STREQ(to_string(SourceState::unavailable), "unavailable");
}

TEST(IdentityNaming, ASwarmTaskIsNamedByItsService) {
    const std::map<std::string, std::string> task = {{"com.docker.swarm.service.name", "shop_web"},
                                                     {"app", "frontend"}};
    IdentityNaming image;
    EXPECT_EQ(image.name_for("flowwall-test/web:1", task), "shop_web");
    EXPECT_EQ(image.name_for("flowwall-test/web:1", {}), "flowwall-test/web")
        << "a plain container keeps its image";
    IdentityNaming by_label = IdentityNaming::parse("label:app").value();
    EXPECT_EQ(by_label.name_for("flowwall-test/web:1", task), "frontend")
        << "the label the user chose wins";
    const std::map<std::string, std::string> bad_service = {
        {"com.docker.swarm.service.name", "bad name"}};
    EXPECT_EQ(image.name_for("flowwall-test/web:1", bad_service), "flowwall-test/web");
    image.swarm_services = false;
    EXPECT_EQ(image.name_for("flowwall-test/web:1", task), "flowwall-test/web");
}

} // namespace
} // namespace flowwall::identity
