// SPDX-License-Identifier: Apache-2.0
// Pod identity names: namespaces, labels, images with registries, ports, tags and digests.
#include "src/identity/pod_naming.h"

#include <gtest/gtest.h>

namespace flowwall::identity {
namespace {

const std::map<std::string, std::string> kNoLabels;

PodNaming naming(std::string_view text) {
    auto parsed = PodNaming::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? parsed.value() : PodNaming{};
}

TEST(PodNaming, ParsesTheThreeRulesAndExplainsBadOnes) {
    EXPECT_EQ(naming("image").from, PodNaming::From::image);
    EXPECT_EQ(naming("bare-image").from, PodNaming::From::bare_image);
    EXPECT_EQ(naming("label:app.kubernetes.io/name").label, "app.kubernetes.io/name");
    for (const char* text : {"image", "bare-image", "label:app"})
        EXPECT_EQ(naming(text).to_string(), text);
    auto empty_label = PodNaming::parse("label:");
    ASSERT_FALSE(empty_label);
    EXPECT_NE(empty_label.error().message.find("label:NAME"), std::string::npos);
    auto unknown = PodNaming::parse("image-tag");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("bare-image"), std::string::npos);
}

TEST(PodNaming, DefaultIsNamespaceAndRepository) {
    const PodNaming rule;
    EXPECT_EQ(rule.name_for("shop", "docker.io/library/mysql:5.7", kNoLabels), "shop/mysql");
    // The same image in two namespaces is two identities.
    EXPECT_EQ(rule.name_for("billing", "docker.io/library/mysql:5.7", kNoLabels), "billing/mysql");
    EXPECT_EQ(rule.name_for("shop", "registry.local:5000/team/web:2", kNoLabels),
              "shop/registry.local:5000/team/web");
    EXPECT_EQ(rule.name_for("shop", "docker.io/team/web@sha256:" + std::string(64, 'a'), kNoLabels),
              "shop/team/web");
    EXPECT_EQ(rule.name_for("shop", "quay.io/org/app:v1@sha256:" + std::string(64, 'b'), kNoLabels),
              "shop/quay.io/org/app");
    EXPECT_EQ(rule.name_for("shop", "sha256:" + std::string(64, 'c'), kNoLabels),
              "shop/sha256:cccccccccccc");
}

TEST(PodNaming, NoImageYetIsUnknown) {
    EXPECT_EQ(PodNaming{}.name_for("shop", "", kNoLabels), "unknown");
}

TEST(PodNaming, BareImageDropsTheNamespace) {
    EXPECT_EQ(naming("bare-image").name_for("shop", "docker.io/library/mysql:5.7", kNoLabels),
              "mysql");
}

TEST(PodNaming, LabelWithNamespaceFallsBackToTheImage) {
    const auto rule = naming("label:app.kubernetes.io/name");
    const std::map<std::string, std::string> labels = {{"app.kubernetes.io/name", "cart"}};
    EXPECT_EQ(rule.name_for("shop", "docker.io/library/redis:7", labels), "shop/cart");
    EXPECT_EQ(rule.name_for("shop", "docker.io/library/redis:7", kNoLabels), "shop/redis");
    // A value that is no identity name never names the pod.
    const std::map<std::string, std::string> spaced = {{"app.kubernetes.io/name", "my app"}};
    EXPECT_EQ(rule.name_for("shop", "docker.io/library/redis:7", spaced), "shop/redis");
    const std::map<std::string, std::string> empty = {{"app.kubernetes.io/name", ""}};
    EXPECT_EQ(rule.name_for("shop", "docker.io/library/redis:7", empty), "shop/redis");
}

TEST(PodNaming, AnInvalidNamespaceIsLeftOut) {
    EXPECT_EQ(PodNaming{}.name_for("bad namespace", "docker.io/library/mysql", kNoLabels), "mysql");
    EXPECT_EQ(PodNaming{}.name_for(std::string(300, 'n'), "mysql", kNoLabels), "mysql");
}

TEST(FamiliarRepository, StripsDockerHubOnlyWhereDockerWould) {
    EXPECT_EQ(familiar_repository("docker.io/library/busybox:latest"), "busybox");
    EXPECT_EQ(familiar_repository("docker.io/library/a/b:1"), "library/a/b");
    EXPECT_EQ(familiar_repository("docker.io/team/web"), "team/web");
    EXPECT_EQ(familiar_repository("mysql:5.7"), "mysql");
    EXPECT_EQ(familiar_repository("localhost:5000/x"), "localhost:5000/x");
    EXPECT_EQ(familiar_repository("docker.io/"), "unknown");
    EXPECT_EQ(familiar_repository(""), "unknown");
}

} // namespace
} // namespace flowwall::identity
