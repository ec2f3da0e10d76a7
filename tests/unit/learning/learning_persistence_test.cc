// SPDX-License-Identifier: Apache-2.0
// to_json/from_json: learning progress survives a daemon restart with absolute times, and a
// damaged state file is refused with a one-line error naming the field, never thrown.
#include <cerrno>
#include <functional>

#include <gtest/gtest.h>

#include "src/learning/learning_schedule.h"
#include "tests/unit/learning/schedule_fixture.h"

namespace flowwall::learning {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::make_schedule;
using testing::t0;

int64_t ms(TimePoint time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// A schedule with every kind of entry: learning, quiet-held, ended, explicit, operator action.
LearningSchedule busy_schedule() {
    auto schedule = make_schedule({.period = 10min, .quiet = 1min});
    schedule.observe("web", t0());
    schedule.observe("db", t0() + 1min);
    schedule.new_flow("db", t0() + 2min);
    schedule.new_flow("db", t0() + 3min);
    schedule.observe("registry.local:5000/team/api", t0() + 4min);
    EXPECT_TRUE(schedule.set_mode_all(FW_MODE_BLOCK, t0() + 5min).ok());
    EXPECT_TRUE(schedule.relearn("web", 20min, t0() + 6min).ok());
    EXPECT_TRUE(schedule.set_mode("db", FW_MODE_OFF, t0() + 7min).ok());
    schedule.observe("cache", t0() + 8min);
    schedule.new_flow("cache", t0() + 8min + 500ms);
    return schedule;
}

TEST(LearningPersistence, WritesTheDocumentedFormat) {
    auto document = busy_schedule().to_json();
    EXPECT_EQ(document["version"], 1);
    EXPECT_EQ(document["after_learning"], "block");
    ASSERT_EQ(document["identities"].size(), 4u);
    const json& cache = document["identities"][0];
    EXPECT_EQ(cache["name"], "cache");
    EXPECT_EQ(cache["last_new_flow_ms"], ms(t0() + 8min + 500ms));
    const json& off = document["identities"][1];
    EXPECT_EQ(off["name"], "db");
    EXPECT_EQ(off["mode"], "off");
    EXPECT_EQ(off["first_seen_ms"], ms(t0() + 1min));
    EXPECT_EQ(off["last_new_flow_ms"], ms(t0() + 3min));
    EXPECT_EQ(off["flows_learned"], 2);
    const json& api = document["identities"][2];
    EXPECT_EQ(api["mode"], "block");
    EXPECT_TRUE(api["last_new_flow_ms"].is_null());
    const json& web = document["identities"][3];
    EXPECT_EQ(web["mode"], "learn");
    EXPECT_EQ(web["learning_since_ms"], ms(t0() + 6min));
    EXPECT_EQ(web["learning_until_ms"], ms(t0() + 26min));

    EXPECT_TRUE(make_schedule().to_json()["after_learning"].is_null());
}

TEST(LearningPersistence, RoundTripKeepsEverythingAndProgressContinues) {
    auto original = busy_schedule();
    // Through text, as the daemon stores it.
    auto reparsed = json::parse(original.to_json().dump());
    auto restored = LearningSchedule::from_json(reparsed, original.config());
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    auto& schedule = restored.value();
    EXPECT_EQ(schedule.to_json(), original.to_json());
    EXPECT_EQ(schedule.after_learning(), FW_MODE_BLOCK);

    auto now = t0() + 9min;
    auto before = original.states(now);
    auto after = schedule.states(now);
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(after[i].name, before[i].name);
        EXPECT_EQ(after[i].mode, before[i].mode);
        EXPECT_EQ(after[i].first_seen, before[i].first_seen);
        EXPECT_EQ(after[i].learning_until, before[i].learning_until);
        EXPECT_EQ(after[i].last_new_flow, before[i].last_new_flow);
        EXPECT_EQ(after[i].flows_learned, before[i].flows_learned);
    }
    // The restarted daemon ends learning at the same absolute times.
    EXPECT_TRUE(schedule.tick(t0() + 18min - 1ms).empty());
    auto cache = schedule.tick(t0() + 18min); // period 10min from 8min, quiet long met
    ASSERT_EQ(cache.size(), 1u);
    EXPECT_EQ(cache[0].name, "cache");
    EXPECT_EQ(cache[0].new_mode, FW_MODE_BLOCK); // the operator's action survived
    EXPECT_TRUE(schedule.tick(t0() + 26min - 1ms).empty());
    ASSERT_EQ(schedule.tick(t0() + 26min).size(), 1u);
}

TEST(LearningPersistence, StoredDeadlinesWinOverANewPeriodButNotOverANewQuiet) {
    auto original = make_schedule({.period = 1h});
    original.observe("web", t0());
    original.new_flow("web", t0() + 58min);
    auto restored =
        LearningSchedule::from_json(original.to_json(), {.period = 1min, .quiet = 5min});
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    auto& schedule = restored.value();
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 1min), 59min);
    EXPECT_TRUE(schedule.tick(t0() + 1h).empty()); // the new quiet holds at once
    EXPECT_TRUE(schedule.tick(t0() + 1h + 3min - 1ms).empty());
    EXPECT_EQ(schedule.tick(t0() + 1h + 3min).size(), 1u);
    schedule.observe("db", t0() + 2h); // new identities take the new period
    EXPECT_EQ(schedule.learning_remaining("db", t0() + 2h), 1min);
}

TEST(LearningPersistence, WithoutAnOperatorActionTheNewConfigDecides) {
    auto original = make_schedule({.period = 1min});
    original.observe("web", t0());
    auto restored =
        LearningSchedule::from_json(original.to_json(), {.period = 1min, .after = FW_MODE_OFF});
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    auto transitions = restored.value().tick(t0() + 1min);
    ASSERT_EQ(transitions.size(), 1u);
    EXPECT_EQ(transitions[0].new_mode, FW_MODE_OFF);
}

TEST(LearningPersistence, AcceptsAnEmptyStateAndSignedIntegers) {
    auto empty = LearningSchedule::from_json(
        json{{"version", 1}, {"after_learning", nullptr}, {"identities", json::array()}}, {});
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_TRUE(empty.value().states(t0()).empty());

    // Built in code, integers are signed JSON numbers; parsed from text, unsigned.
    json entry = {{"name", "web"},
                  {"mode", "learn"},
                  {"first_seen_ms", 1000},
                  {"learning_since_ms", 1000},
                  {"learning_until_ms", 2000},
                  {"last_new_flow_ms", 1500},
                  {"flows_learned", 3}};
    auto built = LearningSchedule::from_json(
        json{{"version", 1}, {"after_learning", "off"}, {"identities", {entry}}}, {});
    ASSERT_TRUE(built.ok()) << built.error().message;
    EXPECT_EQ(built.value().flows_learned("web"), 3u);
    EXPECT_EQ(built.value().after_learning(), FW_MODE_OFF);
}

// Every way a state file can be wrong, each with the words the error must contain.
struct BadDocument {
    const char* what;
    std::function<void(json&)> damage;
    const char* message;
};

json valid_document() {
    return json::parse(R"({"version": 1, "after_learning": null, "identities": [
        {"name": "web", "mode": "learn", "first_seen_ms": 1000, "learning_since_ms": 1000,
         "learning_until_ms": 2000, "last_new_flow_ms": null, "flows_learned": 0},
        {"name": "db", "mode": "block", "first_seen_ms": 1000, "learning_since_ms": 1000,
         "learning_until_ms": 2000, "last_new_flow_ms": 1500, "flows_learned": 7}]})");
}

class LearningFromJsonErrors : public ::testing::TestWithParam<BadDocument> {};

TEST_P(LearningFromJsonErrors, NameTheFieldOnOneLine) {
    json document = valid_document();
    ASSERT_TRUE(LearningSchedule::from_json(document, {}).ok());
    GetParam().damage(document);
    auto result = LearningSchedule::from_json(document, {});
    ASSERT_FALSE(result.ok()) << GetParam().what;
    const auto& message = result.error().message;
    EXPECT_EQ(result.error().errnum, EINVAL);
    EXPECT_NE(message.find(GetParam().message), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

json& web(json& document) {
    return document["identities"][0];
}

const BadDocument kBadDocuments[] = {
    {"not an object", [](json& d) { d = json::array(); }, "not a JSON object"},
    {"unknown top key", [](json& d) { d["extra"] = 1; }, "unknown key \"extra\""},
    {"no version", [](json& d) { d.erase("version"); }, "\"version\" is missing"},
    {"version 2", [](json& d) { d["version"] = 2; }, "\"version\" is not 1"},
    {"version text", [](json& d) { d["version"] = "1"; }, "\"version\" is not 1"},
    {"no after", [](json& d) { d.erase("after_learning"); }, "\"after_learning\" is missing"},
    {"after learn", [](json& d) { d["after_learning"] = "learn"; },
     "\"after_learning\" is not null, \"alert\", \"block\" or \"off\""},
    {"after number", [](json& d) { d["after_learning"] = 3; }, "\"after_learning\" is not null"},
    {"no identities", [](json& d) { d.erase("identities"); }, "\"identities\" is missing"},
    {"identities object", [](json& d) { d["identities"] = json::object(); },
     "\"identities\" is not an array"},
    {"entry not object", [](json& d) { d["identities"][1] = "db"; },
     "identities[1] is not an object"},
    {"no name", [](json& d) { web(d).erase("name"); }, "identities[0]: \"name\" is missing"},
    {"name number", [](json& d) { web(d)["name"] = 5; }, "identities[0]: \"name\" is not a string"},
    {"name empty", [](json& d) { web(d)["name"] = ""; },
     "identities[0]: \"name\": identity name is empty"},
    {"name reserved", [](json& d) { web(d)["name"] = "world"; },
     "identities[0] (\"world\"): \"name\" is a reserved identity"},
    {"name cidr", [](json& d) { web(d)["name"] = "cidr:198.18.0.0/15"; },
     "reserved identity or CIDR"},
    {"name twice", [](json& d) { d["identities"][1]["name"] = "web"; },
     "identities[1] (\"web\"): \"name\" appears twice"},
    {"unknown entry key", [](json& d) { web(d)["id"] = 256; },
     "identities[0] (\"web\"): unknown key \"id\""},
    {"no mode", [](json& d) { web(d).erase("mode"); }, "(\"web\"): \"mode\" is missing"},
    {"mode number", [](json& d) { web(d)["mode"] = 1; }, "\"mode\" is not a string"},
    {"mode unknown", [](json& d) { web(d)["mode"] = "lurn"; },
     "(\"web\"): \"mode\": \"lurn\" is not a mode"},
    {"mode unset", [](json& d) { web(d)["mode"] = "unset"; }, "\"mode\": \"unset\" is not a mode"},
    {"no first seen", [](json& d) { web(d).erase("first_seen_ms"); },
     "\"first_seen_ms\" is missing"},
    {"first seen null", [](json& d) { web(d)["first_seen_ms"] = nullptr; },
     "\"first_seen_ms\" is not an integer count of milliseconds"},
    {"first seen float", [](json& d) { web(d)["first_seen_ms"] = 1.5; },
     "\"first_seen_ms\" is not an"},
    {"first seen text", [](json& d) { web(d)["first_seen_ms"] = "1000"; },
     "\"first_seen_ms\" is not"},
    {"since huge", [](json& d) { web(d)["learning_since_ms"] = UINT64_MAX; },
     "\"learning_since_ms\" is not an integer count"},
    {"until overflows ns", [](json& d) { web(d)["learning_until_ms"] = int64_t{1} << 62; },
     "\"learning_until_ms\" is not an integer count"},
    {"since too small", [](json& d) { web(d)["learning_since_ms"] = INT64_MIN; },
     "\"learning_since_ms\" is not"},
    {"no until", [](json& d) { web(d).erase("learning_until_ms"); },
     "\"learning_until_ms\" is missing"},
    {"until before since", [](json& d) { web(d)["learning_until_ms"] = 999; },
     "(\"web\"): \"learning_until_ms\" is before \"learning_since_ms\""},
    {"no last flow", [](json& d) { web(d).erase("last_new_flow_ms"); },
     "\"last_new_flow_ms\" is missing"},
    {"last flow text", [](json& d) { web(d)["last_new_flow_ms"] = "never"; },
     "\"last_new_flow_ms\" is not null or an integer"},
    {"no flows", [](json& d) { web(d).erase("flows_learned"); }, "\"flows_learned\" is missing"},
    {"flows negative", [](json& d) { web(d)["flows_learned"] = -1; },
     "\"flows_learned\" is not a non-negative integer"},
    {"flows float", [](json& d) { web(d)["flows_learned"] = 2.5; }, "\"flows_learned\" is not a"},
};

INSTANTIATE_TEST_SUITE_P(All, LearningFromJsonErrors, ::testing::ValuesIn(kBadDocuments));

TEST(LearningPersistence, ABadConfigIsRefusedBeforeTheDocumentIsRead) {
    auto result = LearningSchedule::from_json(valid_document(), {.period = -1s});
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("learning period"), std::string::npos);
}

} // namespace
} // namespace flowwall::learning
