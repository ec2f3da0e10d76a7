// SPDX-License-Identifier: Apache-2.0
#include "src/identity/identity_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flowwall/abi.h"
#include "tests/support/temp_dir.h"

namespace flowwall::identity {
namespace {

using testing::TempDir;

constexpr uint32_t kLimit = 1024;

IdentityRegistry open_ok(const std::filesystem::path& dir, uint32_t limit = kLimit) {
    auto registry = IdentityRegistry::open(dir, limit);
    if (!registry.ok())
        ADD_FAILURE() << registry.error().to_string();
    return std::move(registry).value_or_throw();
}

TEST(IdentityRegistry, ReservedNamesHaveTheirFixedIds) {
    TempDir dir;
    auto registry = open_ok(dir.path());
    EXPECT_EQ(registry.id_for("unknown").value(), uint32_t{FW_ID_UNKNOWN});
    EXPECT_EQ(registry.id_for("host").value(), uint32_t{FW_ID_HOST});
    EXPECT_EQ(registry.id_for("world").value(), uint32_t{FW_ID_WORLD});
    EXPECT_EQ(registry.name_of(FW_ID_WORLD), "world");
    EXPECT_EQ(registry.find("host"), uint32_t{FW_ID_HOST});
    // Reserved names are never written: the file need not exist yet.
    EXPECT_FALSE(std::filesystem::exists(dir / "identities.json"));
}

TEST(IdentityRegistry, AllocatesFromTheFirstAllocatedIdAndAnswersLookups) {
    TempDir dir;
    auto registry = open_ok(dir.path());
    EXPECT_EQ(registry.id_for("mysql").value(), uint32_t{FW_ID_FIRST_ALLOCATED});
    EXPECT_EQ(registry.id_for("web").value(), uint32_t{FW_ID_FIRST_ALLOCATED} + 1);
    EXPECT_EQ(registry.id_for("mysql").value(), uint32_t{FW_ID_FIRST_ALLOCATED});
    EXPECT_EQ(registry.find("web"), uint32_t{FW_ID_FIRST_ALLOCATED} + 1);
    EXPECT_EQ(registry.find("db"), std::nullopt);
    EXPECT_EQ(registry.name_of(FW_ID_FIRST_ALLOCATED), "mysql");
    EXPECT_EQ(registry.name_of(300), std::nullopt);

    auto all = registry.all();
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[0], (std::pair<std::string, uint32_t>{"unknown", FW_ID_UNKNOWN}));
    EXPECT_EQ(all[3], (std::pair<std::string, uint32_t>{"mysql", FW_ID_FIRST_ALLOCATED}));
    EXPECT_EQ(all[4].first, "web");
}

TEST(IdentityRegistry, RejectsNamesThatAreNotIdentityNames) {
    TempDir dir;
    auto registry = open_ok(dir.path());
    auto bad = registry.id_for("my app");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("my app"), std::string::npos);
    EXPECT_FALSE(registry.id_for("").ok());
    // A refused name does not use up an id.
    EXPECT_EQ(registry.id_for("web").value(), uint32_t{FW_ID_FIRST_ALLOCATED});
}

TEST(IdentityRegistry, IdsAreStableAcrossReopenAndNeverReused) {
    TempDir dir;
    {
        auto registry = open_ok(dir.path());
        ASSERT_TRUE(registry.id_for("a").ok());
        ASSERT_TRUE(registry.id_for("b").ok());
        ASSERT_TRUE(registry.id_for("c").ok());
    }
    // Someone removes "b" by hand; its id must not go to the next new name.
    auto text = TempDir::read(dir / "identities.json");
    auto document = nlohmann::json::parse(text);
    auto& identities = document["identities"];
    identities.erase(identities.begin() + 1);
    TempDir::write(dir / "identities.json", document.dump());

    auto registry = open_ok(dir.path());
    EXPECT_EQ(registry.find("a"), uint32_t{FW_ID_FIRST_ALLOCATED});
    EXPECT_EQ(registry.find("c"), uint32_t{FW_ID_FIRST_ALLOCATED} + 2);
    EXPECT_EQ(registry.find("b"), std::nullopt);
    EXPECT_EQ(registry.id_for("d").value(), uint32_t{FW_ID_FIRST_ALLOCATED} + 3);
}

TEST(IdentityRegistry, KeepsThePreviousVersionOfTheFile) {
    TempDir dir;
    auto registry = open_ok(dir.path());
    ASSERT_TRUE(registry.id_for("a").ok());
    ASSERT_TRUE(registry.id_for("b").ok());
    auto previous = nlohmann::json::parse(TempDir::read(dir / "identities.json.prev"));
    EXPECT_EQ(previous["identities"].size(), 1u);
    EXPECT_EQ(previous["next_id"], FW_ID_FIRST_ALLOCATED + 1);
}

TEST(IdentityRegistry, ACorruptFileFallsBackToThePreviousVersionAndSkipsAnId) {
    TempDir dir;
    {
        auto registry = open_ok(dir.path());
        ASSERT_TRUE(registry.id_for("a").ok());
        ASSERT_TRUE(registry.id_for("b").ok()); // lost with the corrupt file
    }
    TempDir::write(dir / "identities.json", "{\"version\": 1, \"next_id\": 25");

    auto registry = open_ok(dir.path());
    EXPECT_EQ(registry.find("a"), uint32_t{FW_ID_FIRST_ALLOCATED});
    EXPECT_EQ(registry.find("b"), std::nullopt);
    // "b" had FIRST+1 and pinned maps may still hold it: a new name gets FIRST+2.
    EXPECT_EQ(registry.id_for("c").value(), uint32_t{FW_ID_FIRST_ALLOCATED} + 2);
    EXPECT_TRUE(std::filesystem::exists(dir / "identities.json.corrupt"));
    // The rewritten file parses again.
    auto reopened = open_ok(dir.path());
    EXPECT_EQ(reopened.find("c"), uint32_t{FW_ID_FIRST_ALLOCATED} + 2);
}

TEST(IdentityRegistry, CorruptFileAndPreviousIsAnErrorNamingBoth) {
    TempDir dir;
    TempDir::write(dir / "identities.json", "not json");
    TempDir::write(dir / "identities.json.prev",
                   R"({"version": 1, "next_id": 257, "identities": [{"name": "a", "id": 9}]})");
    auto registry = IdentityRegistry::open(dir.path(), kLimit);
    ASSERT_FALSE(registry.ok());
    const auto& message = registry.error().message;
    EXPECT_NE(message.find((dir / "identities.json").string() + ": not valid JSON"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find((dir / "identities.json.prev").string() + ": identities[0]: id 9"),
              std::string::npos)
        << message;
    // Nothing was overwritten: a person can still look at both.
    EXPECT_EQ(TempDir::read(dir / "identities.json"), "not json");
}

TEST(IdentityRegistry, CorruptFileWithoutPreviousIsAnError) {
    TempDir dir;
    TempDir::write(dir / "identities.json", "");
    auto registry = IdentityRegistry::open(dir.path(), kLimit);
    ASSERT_FALSE(registry.ok());
    EXPECT_NE(registry.error().message.find("identities.json.prev is missing"), std::string::npos)
        << registry.error().message;
}

TEST(IdentityRegistry, ReportsEachKindOfCorruption) {
    const std::pair<const char*, const char*> cases[] = {
        {"[]", "top level is not a JSON object"},
        {R"({"version": 2, "next_id": 256, "identities": []})", "\"version\""},
        {R"({"version": 1, "next_id": 5, "identities": []})", "\"next_id\""},
        {R"({"version": 1, "next_id": 300})", "\"identities\" is missing"},
        {R"({"version": 1, "next_id": 300, "identities": [{"name": "a"}]})",
         "identities[0] is not"},
        {R"({"version": 1, "next_id": 300, "identities": [{"name": "a", "id": 256},
            {"name": "a", "id": 257}]})",
         "appears twice"},
        {R"({"version": 1, "next_id": 300, "identities": [{"name": "a", "id": 256},
            {"name": "b", "id": 256}]})",
         "given to both"},
        {R"({"version": 1, "next_id": 300, "identities": [{"name": "world", "id": 256}]})",
         "reserved"},
        {R"({"version": 1, "next_id": 300, "identities": [{"name": "a", "id": 300}]})",
         "below next_id"},
        {R"({"version": 1, "next_id": 300, "identities": [{"name": "a b", "id": 256}]})",
         "identity name"},
        // A number too large for a double threw past the parse_error handler (aborting).
        {R"({"version": 1, "next_id": 1e999, "identities": []})", "number overflow"},
    };
    for (auto [content, expected] : cases) {
        TempDir dir;
        TempDir::write(dir / "identities.json", content);
        auto registry = IdentityRegistry::open(dir.path(), kLimit);
        ASSERT_FALSE(registry.ok()) << content;
        EXPECT_NE(registry.error().message.find(expected), std::string::npos)
            << registry.error().message;
    }
}

TEST(IdentityRegistry, ExhaustionSaysToRaiseModeEntries) {
    TempDir dir;
    auto registry = open_ok(dir.path(), FW_ID_FIRST_ALLOCATED + 2);
    ASSERT_TRUE(registry.id_for("a").ok());
    ASSERT_TRUE(registry.id_for("b").ok());
    auto full = registry.id_for("c");
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().errnum, ENOSPC);
    EXPECT_NE(full.error().message.find("mode-entries"), std::string::npos);
    EXPECT_NE(full.error().message.find("\"c\""), std::string::npos);
    // Known names still resolve when the ids are used up.
    EXPECT_EQ(registry.id_for("a").value(), uint32_t{FW_ID_FIRST_ALLOCATED});
}

TEST(IdentityRegistry, AFailedWriteUndoesTheAllocation) {
    TempDir dir;
    auto state_dir = dir / "state";
    auto registry = open_ok(state_dir);
    ASSERT_TRUE(registry.id_for("a").ok());
    std::filesystem::remove_all(state_dir); // works for root too, unlike a read-only mode
    auto failed = registry.id_for("b");
    std::filesystem::create_directory(state_dir);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.error().message.find("persist identity \"b\""), std::string::npos);
    EXPECT_EQ(registry.find("b"), std::nullopt);
    EXPECT_EQ(registry.id_for("b").value(), uint32_t{FW_ID_FIRST_ALLOCATED} + 1);
}

TEST(IdentityRegistry, ConcurrentAllocationGivesEachNameOneId) {
    TempDir dir;
    auto registry = open_ok(dir.path());
    std::vector<std::thread> threads;
    std::vector<std::vector<uint32_t>> seen(4);
    for (size_t t = 0; t < seen.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i)
                seen[t].push_back(registry.id_for("name-" + std::to_string(i)).value());
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (size_t t = 1; t < seen.size(); ++t)
        EXPECT_EQ(seen[t], seen[0]);
    EXPECT_EQ(registry.all().size(), 3u + 20u);
}

} // namespace
} // namespace flowwall::identity
