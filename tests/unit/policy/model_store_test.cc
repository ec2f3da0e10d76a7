// SPDX-License-Identifier: Apache-2.0
#include "src/policy/model_store.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace flowwall::policy {
namespace {

using flowwall::testing::TempDir;
using std::chrono::seconds;

TimePoint at(int64_t unix_seconds) {
    return TimePoint(seconds(unix_seconds));
}

Model model_with(int flows, int64_t when = 1795370400) {
    Model model;
    for (int i = 0; i < flows; ++i)
        model.record({"web", "db", static_cast<uint16_t>(1000 + i), kProtocolTcp}, at(when + i),
                     "n1", "web-" + std::to_string(i % 3));
    return model;
}

ModelStore open_store(const TempDir& dir) {
    auto store = ModelStore::open(dir.path());
    if (!store.ok())
        throw std::runtime_error(store.error().to_string());
    return std::move(store).value();
}

Model load_ok(ModelStore& store) {
    auto model = store.load();
    EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
    return model.ok() ? std::move(model).value() : Model{};
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

TEST(ModelStore, FirstStartIsAnEmptyModel) {
    TempDir dir;
    auto store = ModelStore::open(dir / "state" / "nested");
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_TRUE(std::filesystem::is_directory(dir / "state" / "nested"));
    auto model = store.value().load();
    ASSERT_TRUE(model.ok());
    EXPECT_TRUE(model.value().empty());
    EXPECT_EQ(store.value().file(), dir / "state" / "nested" / "model.json");
}

TEST(ModelStore, OpenRefusesAFileAsStateDirectory) {
    TempDir dir;
    TempDir::write(dir / "file", "x");
    EXPECT_FALSE(ModelStore::open(dir / "file").ok());
}

TEST(ModelStore, SavesAndLoadsTheSameModel) {
    TempDir dir;
    auto store = open_store(dir);
    Model model = model_with(50);
    model.allow({"admin", "db", 0, kProtocolIcmp}, at(5));
    ASSERT_TRUE(store.save(model).ok());
    EXPECT_EQ(load_ok(store), model);

    struct stat info {};
    ASSERT_EQ(::stat(store.file().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);

    // A new store on the same directory (a restarted daemon) reads the same.
    auto reopened = open_store(dir);
    EXPECT_EQ(load_ok(reopened), model);
}

TEST(ModelStore, KeepsThePreviousVersion) {
    TempDir dir;
    auto store = open_store(dir);
    Model one = model_with(1), two = model_with(2), three = model_with(3);
    ASSERT_TRUE(store.save(one).ok());
    EXPECT_FALSE(std::filesystem::exists(store.previous_file()));
    ASSERT_TRUE(store.save(two).ok());
    ASSERT_TRUE(store.save(three).ok());
    EXPECT_EQ(TempDir::read(store.previous_file()), two.to_json_text());
    EXPECT_EQ(load_ok(store), three);
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"model.json", "model.json.prev"}));
}

TEST(ModelStore, ACorruptModelFallsBackToThePreviousAndIsKeptAside) {
    TempDir dir;
    auto store = open_store(dir);
    Model one = model_with(1), two = model_with(2);
    ASSERT_TRUE(store.save(one).ok());
    ASSERT_TRUE(store.save(two).ok());
    TempDir::write(store.file(), "{\"version\": 1, \"flows\": [{\"src\": "); // torn

    EXPECT_EQ(load_ok(store), one);
    auto names = names_in(dir.path());
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0].rfind("model.json.corrupt-", 0), 0u) << names[0];
    EXPECT_EQ(names[1], "model.json.prev");
    EXPECT_EQ(TempDir::read(dir / names[0]), "{\"version\": 1, \"flows\": [{\"src\": ");

    // The next save must not make the corrupt file the .prev copy.
    Model three = model_with(3);
    ASSERT_TRUE(store.save(three).ok());
    EXPECT_EQ(TempDir::read(store.previous_file()), one.to_json_text());
    EXPECT_EQ(load_ok(store), three);

    // A second corruption in the same second gets its own name.
    TempDir::write(store.file(), "garbage");
    EXPECT_EQ(load_ok(store), one);
    size_t corrupt = 0;
    for (const auto& name : names_in(dir.path()))
        corrupt += name.rfind("model.json.corrupt-", 0) == 0;
    EXPECT_EQ(corrupt, 2u);
}

TEST(ModelStore, AModelWithBadContentFallsBackToo) {
    TempDir dir;
    auto store = open_store(dir);
    ASSERT_TRUE(store.save(model_with(1)).ok());
    ASSERT_TRUE(store.save(model_with(2)).ok());
    // Valid JSON, invalid model: a hand edit gone wrong.
    TempDir::write(store.file(), R"({"version": 1, "flows": [{"src": "web"}]})");
    EXPECT_EQ(load_ok(store), model_with(1));
}

TEST(ModelStore, BothCorruptIsAnErrorNamingBothAndHowToRecover) {
    TempDir dir;
    auto store = open_store(dir);
    TempDir::write(store.file(), "not json");
    TempDir::write(store.previous_file(), R"({"version": 7, "flows": []})");
    auto model = store.load();
    ASSERT_FALSE(model.ok());
    const auto& message = model.error().message;
    EXPECT_NE(message.find(store.file().string() + ": not valid JSON"), std::string::npos)
        << message;
    EXPECT_NE(message.find(store.previous_file().string() + ": version: 7 is not supported"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("flowwall model import"), std::string::npos) << message;
    EXPECT_NE(message.find("move both files away"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
    // Nothing moved or rewritten: the operator decides.
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"model.json", "model.json.prev"}));
    EXPECT_EQ(TempDir::read(store.file()), "not json");
}

TEST(ModelStore, ACorruptModelWithoutPreviousIsAnErrorNotAnEmptyModel) {
    TempDir dir;
    auto store = open_store(dir);
    TempDir::write(store.file(), "");
    auto model = store.load();
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.error().message.find(store.previous_file().string() + " is missing"),
              std::string::npos)
        << model.error().message;
    EXPECT_TRUE(std::filesystem::exists(store.file()));
}

TEST(ModelStore, AMissingModelUsesThePrevious) {
    TempDir dir;
    auto store = open_store(dir);
    ASSERT_TRUE(store.save(model_with(1)).ok());
    ASSERT_TRUE(store.save(model_with(2)).ok());
    // A filesystem without hard links renames model.json to .prev before the new one
    // arrives; a crash in between leaves only .prev.
    std::filesystem::remove(store.file());
    EXPECT_EQ(load_ok(store), model_with(1));
}

TEST(ModelStore, AMissingModelWithACorruptPreviousIsAnError) {
    TempDir dir;
    auto store = open_store(dir);
    TempDir::write(store.previous_file(), "{");
    auto model = store.load();
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.error().message.find(store.file().string() + " is missing"), std::string::npos)
        << model.error().message;
}

TEST(ModelStore, ACrashBeforeTheRenameLeavesTheGoodModel) {
    TempDir dir;
    auto store = open_store(dir);
    Model good = model_with(10);
    ASSERT_TRUE(store.save(good).ok());
    // What write_file_atomically leaves when killed after writing part of the temp file,
    // or while staging the previous version.
    std::string bigger = model_with(20).to_json_text();
    TempDir::write(dir / ".model.json.tmp.Ab12Cd", bigger.substr(0, bigger.size() / 2));
    TempDir::write(dir / ".model.json.tmp.Zz99Yy", bigger);
    ASSERT_EQ(::link(store.file().c_str(), (dir / "model.json.prev.tmp").c_str()), 0);
    TempDir::write(dir / "unrelated.tmp", "x");

    EXPECT_EQ(load_ok(store), good);
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"model.json", "unrelated.tmp"}));
    ASSERT_TRUE(store.save(model_with(20)).ok());
    EXPECT_EQ(load_ok(store), model_with(20));
}

TEST(ModelStore, AnUnreadableModelIsAnErrorWithoutFallback) {
    TempDir dir;
    auto store = open_store(dir);
    TempDir::write(store.previous_file(), model_with(1).to_json_text());
    std::filesystem::create_directory(store.file());
    auto model = store.load();
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.error().message.find(store.file().string()), std::string::npos);
    EXPECT_TRUE(std::filesystem::is_directory(store.file()));
}

TEST(ModelStore, SaveFailsWhenTheDirectoryIsGone) {
    TempDir dir;
    auto store = ModelStore::open(dir / "state");
    ASSERT_TRUE(store.ok());
    std::filesystem::remove_all(dir / "state");
    auto status = store.value().save(model_with(1));
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("save the model"), std::string::npos);
}

// Not a pass/fail test: run with --gtest_also_run_disabled_tests to measure.
TEST(ModelStore, DISABLED_Measure100kFlows) {
    TempDir dir;
    auto store = open_store(dir);
    Model model;
    for (int i = 0; i < 100000; ++i)
        model.record({"svc-" + std::to_string(i % 500), "svc-" + std::to_string(i / 500 + 1000),
                      static_cast<uint16_t>(1 + i % 60000), kProtocolTcp},
                     at(1795370400 + i), "node-" + std::to_string(i % 3),
                     "container-" + std::to_string(i % 7));
    ASSERT_EQ(model.size(), 100000u);
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
    };
    auto t0 = Clock::now();
    std::string text = model.to_json_text();
    auto t1 = Clock::now();
    std::string dom = model.to_json().dump();
    auto t2 = Clock::now();
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(store.save(model).ok());
    auto t3 = Clock::now();
    Model loaded = load_ok(store);
    auto t4 = Clock::now();
    EXPECT_EQ(loaded, model);
    std::printf("100k flows: %zu bytes; to_json_text %.1f ms; to_json().dump() %.1f ms; "
                "save (serialize + write + fsync + rename) %.1f ms each; load %.1f ms\n",
                text.size(), ms(t1 - t0), ms(t2 - t1), ms(t3 - t2) / 5, ms(t4 - t3));
}

} // namespace
} // namespace flowwall::policy
