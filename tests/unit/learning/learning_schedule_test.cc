// SPDX-License-Identifier: Apache-2.0
#include "src/learning/learning_schedule.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "tests/unit/learning/schedule_fixture.h"

namespace flowwall::learning {
namespace {

using namespace std::chrono_literals;
using testing::make_schedule;
using testing::t0;

std::vector<std::string> names_of(const std::vector<Transition>& transitions) {
    std::vector<std::string> names;
    for (const auto& transition : transitions)
        names.push_back(transition.name);
    return names;
}

TEST(LearningSchedule, LearnsFromFirstSightUntilExactlyTheEndOfThePeriod) {
    auto schedule = make_schedule({.period = 10min});
    EXPECT_TRUE(schedule.observe("web", t0()));
    EXPECT_FALSE(schedule.observe("web", t0() + 5min)); // idempotent: the clock is not reset
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 4min), 6min);

    EXPECT_TRUE(schedule.tick(t0() + 10min - 1ms).empty());
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 10min - 1ms), 1ms);

    auto transitions = schedule.tick(t0() + 10min);
    ASSERT_EQ(transitions.size(), 1u);
    EXPECT_EQ(transitions[0].name, "web");
    EXPECT_EQ(transitions[0].new_mode, FW_MODE_ALERT);
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_ALERT);
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 10min), std::nullopt);

    EXPECT_TRUE(schedule.tick(t0() + 10min).empty()); // a second tick reports nothing
    EXPECT_TRUE(schedule.tick(t0() + 20min).empty());
}

TEST(LearningSchedule, RemainingTimeRoundsUpSoZeroMeansOver) {
    auto schedule = make_schedule({.period = 1s});
    schedule.observe("web", t0());
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 999'999us), 1ms);
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 1s), 0ms);
}

TEST(LearningSchedule, EachIdentityCountsFromItsOwnFirstSighting) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0());
    schedule.observe("db", t0() + 3min);
    EXPECT_EQ(names_of(schedule.tick(t0() + 10min)), std::vector<std::string>{"web"});
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_LEARN);
    EXPECT_EQ(names_of(schedule.tick(t0() + 13min)), std::vector<std::string>{"db"});
}

TEST(LearningSchedule, PerIdentityOverrideReplacesTheGlobalPeriod) {
    auto schedule = make_schedule({.period = 1h, .period_overrides = {{"db", 5min}}});
    schedule.observe("web", t0());
    schedule.observe("db", t0());
    EXPECT_EQ(schedule.period_for("db"), 5min);
    EXPECT_EQ(schedule.period_for("web"), 1h);
    EXPECT_EQ(names_of(schedule.tick(t0() + 5min)), std::vector<std::string>{"db"});
    EXPECT_EQ(names_of(schedule.tick(t0() + 1h)), std::vector<std::string>{"web"});
}

TEST(LearningSchedule, AfterLearningActionComesFromTheConfig) {
    auto schedule = make_schedule({.period = 1min, .after = FW_MODE_BLOCK});
    schedule.observe("web", t0());
    auto transitions = schedule.tick(t0() + 1min);
    ASSERT_EQ(transitions.size(), 1u);
    EXPECT_EQ(transitions[0].new_mode, FW_MODE_BLOCK);
    EXPECT_EQ(schedule.after_learning(), FW_MODE_BLOCK);
}

TEST(LearningSchedule, QuietPeriodHoldsLearningUntilNoNewFlowForThatLong) {
    auto schedule = make_schedule({.period = 10min, .quiet = 2min});
    schedule.observe("web", t0());
    schedule.new_flow("web", t0() + 9min);

    EXPECT_TRUE(schedule.tick(t0() + 10min).empty());
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 10min), 0ms);
    auto states = schedule.states(t0() + 10min);
    ASSERT_EQ(states.size(), 1u);
    EXPECT_TRUE(states[0].quiet_holding);

    schedule.new_flow("web", t0() + 10min + 30s); // evidence keeps arriving: hold again
    EXPECT_TRUE(schedule.tick(t0() + 12min).empty());
    EXPECT_EQ(schedule.next_deadline(), t0() + 12min + 30s);
    EXPECT_TRUE(schedule.tick(t0() + 12min + 30s - 1ms).empty());
    EXPECT_EQ(names_of(schedule.tick(t0() + 12min + 30s)), std::vector<std::string>{"web"});
    EXPECT_FALSE(schedule.states(t0() + 13min)[0].quiet_holding);
}

TEST(LearningSchedule, QuietPeriodCountsFromTheStartWhenNoFlowWasSeen) {
    auto schedule = make_schedule({.period = 10min, .quiet = 2min});
    schedule.observe("idle", t0());
    EXPECT_EQ(schedule.next_deadline(), t0() + 10min);
    EXPECT_EQ(names_of(schedule.tick(t0() + 10min)), std::vector<std::string>{"idle"});
}

TEST(LearningSchedule, QuietPeriodLongerThanThePeriodStillNeedsThePeriod) {
    auto schedule = make_schedule({.period = 1min, .quiet = 5min});
    schedule.observe("web", t0());
    EXPECT_TRUE(schedule.tick(t0() + 1min).empty()); // quiet since t0 only 1min
    EXPECT_EQ(names_of(schedule.tick(t0() + 5min)), std::vector<std::string>{"web"});
}

TEST(LearningSchedule, NewFlowsOfOtherIdentitiesDoNotHoldIt) {
    auto schedule = make_schedule({.period = 10min, .quiet = 2min});
    schedule.observe("web", t0());
    schedule.observe("db", t0());
    schedule.new_flow("db", t0() + 9min + 30s);
    EXPECT_EQ(names_of(schedule.tick(t0() + 10min)), std::vector<std::string>{"web"});
    EXPECT_EQ(schedule.flows_learned("web"), 0u);
    EXPECT_EQ(schedule.flows_learned("db"), 1u);
    EXPECT_EQ(names_of(schedule.tick(t0() + 11min + 30s)), std::vector<std::string>{"db"});
}

TEST(LearningSchedule, NewFlowCountsObservesAndReportsTimeSinceTheLastOne) {
    auto schedule = make_schedule();
    EXPECT_EQ(schedule.since_last_new_flow("api", t0()), std::nullopt);
    schedule.new_flow("api", t0()); // the flow proves the identity exists
    EXPECT_EQ(schedule.mode_of("api"), FW_MODE_LEARN);
    schedule.new_flow("api", t0() + 1s);
    EXPECT_EQ(schedule.flows_learned("api"), 2u);
    EXPECT_EQ(schedule.since_last_new_flow("api", t0() + 61s), 60s);
    EXPECT_EQ(schedule.since_last_new_flow("api", t0()), 0ms); // clock stepped back
    EXPECT_EQ(schedule.flows_learned("nobody"), 0u);
}

TEST(LearningSchedule, ReservedAndCidrIdentitiesNeverLearn) {
    auto schedule = make_schedule();
    for (std::string name : {"unknown", "host", "world", "cidr:203.0.113.0/24"}) {
        EXPECT_FALSE(schedule.observe(name, t0())) << name;
        schedule.new_flow(name, t0());
        EXPECT_EQ(schedule.mode_of(name), FW_MODE_UNSET) << name;
        EXPECT_FALSE(schedule.set_mode(name, FW_MODE_BLOCK, t0()).ok()) << name;
        EXPECT_FALSE(schedule.relearn(name, std::nullopt, t0()).ok()) << name;
        EXPECT_FALSE(takes_part_in_learning(name)) << name;
    }
    EXPECT_TRUE(takes_part_in_learning("hostile"));
    EXPECT_TRUE(schedule.states(t0()).empty());
    EXPECT_EQ(schedule.next_deadline(), std::nullopt);
}

TEST(LearningSchedule, SetModeForOneIdentityEndsItsLearningAndSticks) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0());
    schedule.observe("db", t0());
    ASSERT_TRUE(schedule.set_mode("db", FW_MODE_BLOCK, t0() + 1min).ok());
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_BLOCK);
    EXPECT_EQ(schedule.learning_remaining("db", t0() + 1min), std::nullopt);

    // The period db would have learned for ends: only web moves, db keeps block.
    EXPECT_EQ(names_of(schedule.tick(t0() + 10min)), std::vector<std::string>{"web"});
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_BLOCK);
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_ALERT);
    EXPECT_EQ(schedule.after_learning(), FW_MODE_ALERT); // one identity: global unchanged

    ASSERT_TRUE(schedule.set_mode("web", FW_MODE_OFF, t0() + 11min).ok());
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_OFF);
}

TEST(LearningSchedule, SetModeLearnRestartsTheFullPeriodFromNow) {
    auto schedule = make_schedule({.period = 10min, .period_overrides = {{"db", 20min}}});
    schedule.observe("db", t0());
    ASSERT_TRUE(schedule.set_mode("db", FW_MODE_ALERT, t0() + 1min).ok());
    ASSERT_TRUE(schedule.set_mode("db", FW_MODE_LEARN, t0() + 30min).ok());
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.learning_remaining("db", t0() + 30min), 20min);
    EXPECT_TRUE(schedule.tick(t0() + 50min - 1ms).empty());
    EXPECT_EQ(names_of(schedule.tick(t0() + 50min)), std::vector<std::string>{"db"});

    // While still learning, learn restarts the clock too.
    schedule.observe("web", t0());
    ASSERT_TRUE(schedule.set_mode("web", FW_MODE_LEARN, t0() + 9min).ok());
    EXPECT_TRUE(schedule.tick(t0() + 10min).empty());
    EXPECT_EQ(names_of(schedule.tick(t0() + 19min)), std::vector<std::string>{"web"});
}

TEST(LearningSchedule, SetModeRejectsUnknownNamesAndBadModes) {
    auto schedule = make_schedule();
    schedule.observe("web", t0());
    auto unknown = schedule.set_mode("wbe", FW_MODE_BLOCK, t0());
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().errnum, ENOENT);
    EXPECT_NE(unknown.error().message.find("\"wbe\" is not known"), std::string::npos);
    EXPECT_EQ(schedule.mode_of("wbe"), FW_MODE_UNSET); // a typo creates nothing
    EXPECT_FALSE(schedule.set_mode("web", FW_MODE_UNSET, t0()).ok());
    EXPECT_FALSE(schedule.set_mode("web", 9, t0()).ok());
    EXPECT_FALSE(schedule.set_mode_all(FW_MODE_UNSET, t0()).ok());
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.after_learning(), FW_MODE_ALERT);
}

TEST(LearningSchedule, SetModeAllSetsEveryKnownIdentityAndTheActionForLaterOnes) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0());
    schedule.observe("db", t0());
    ASSERT_TRUE(schedule.set_mode("db", FW_MODE_OFF, t0()).ok());
    schedule.tick(t0() + 10min); // web -> alert

    schedule.observe("api", t0() + 11min); // learning while the mode changes
    ASSERT_TRUE(schedule.set_mode_all(FW_MODE_BLOCK, t0() + 12min).ok());
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_BLOCK);
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_BLOCK);
    EXPECT_EQ(schedule.mode_of("api"), FW_MODE_BLOCK); // stops learning at once
    EXPECT_EQ(schedule.after_learning(), FW_MODE_BLOCK);
    EXPECT_TRUE(schedule.tick(t0() + 30min).empty());

    // An identity seen later still learns first, then takes the operator's action.
    EXPECT_TRUE(schedule.observe("cache", t0() + 40min));
    EXPECT_EQ(schedule.mode_of("cache"), FW_MODE_LEARN);
    auto transitions = schedule.tick(t0() + 50min);
    ASSERT_EQ(transitions.size(), 1u);
    EXPECT_EQ(transitions[0].name, "cache");
    EXPECT_EQ(transitions[0].new_mode, FW_MODE_BLOCK);
}

TEST(LearningSchedule, SetModeAllLearnRestartsEveryoneAndKeepsTheAction) {
    auto schedule = make_schedule({.period = 10min, .period_overrides = {{"db", 1min}}});
    schedule.observe("web", t0());
    schedule.observe("db", t0());
    ASSERT_TRUE(schedule.set_mode_all(FW_MODE_BLOCK, t0()).ok());
    ASSERT_TRUE(schedule.set_mode_all(FW_MODE_LEARN, t0() + 1h).ok());
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.learning_remaining("db", t0() + 1h), 1min);
    EXPECT_EQ(schedule.after_learning(), FW_MODE_BLOCK);
    auto transitions = schedule.tick(t0() + 1h + 10min);
    ASSERT_EQ(transitions.size(), 2u);
    EXPECT_EQ(transitions[0].name, "db"); // sorted by name
    EXPECT_EQ(transitions[0].new_mode, FW_MODE_BLOCK);
    EXPECT_EQ(transitions[1].name, "web");
}

TEST(LearningSchedule, RelearnForAGivenDurationAppliesOnlyThisTime) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0());
    schedule.tick(t0() + 10min);
    ASSERT_TRUE(schedule.relearn("web", 30s, t0() + 20min).ok());
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 20min), 30s);
    EXPECT_EQ(names_of(schedule.tick(t0() + 20min + 30s)), std::vector<std::string>{"web"});

    ASSERT_TRUE(schedule.relearn("web", std::nullopt, t0() + 1h).ok());
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 1h), 10min); // back to the config
}

TEST(LearningSchedule, RelearnAllCoversEveryIdentityWhateverItsMode) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0());
    schedule.observe("db", t0());
    ASSERT_TRUE(schedule.set_mode("db", FW_MODE_BLOCK, t0()).ok());
    ASSERT_TRUE(schedule.relearn_all(2min, t0() + 1h).ok());
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_LEARN);
    EXPECT_EQ(schedule.next_deadline(), t0() + 1h + 2min);
    EXPECT_EQ(schedule.tick(t0() + 1h + 2min).size(), 2u);
}

TEST(LearningSchedule, RelearnErrors) {
    auto schedule = make_schedule();
    schedule.observe("web", t0());
    EXPECT_FALSE(schedule.relearn("web", -1s, t0()).ok());
    EXPECT_FALSE(schedule.relearn_all(-1s, t0()).ok());
    auto unknown = schedule.relearn("nobody", std::nullopt, t0());
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().errnum, ENOENT);
    EXPECT_EQ(schedule.mode_of("nobody"), FW_MODE_UNSET);
}

TEST(LearningSchedule, RelearnDropsQuietEvidenceFromBeforeTheRestart) {
    auto schedule = make_schedule({.period = 10min, .quiet = 5min});
    schedule.observe("web", t0());
    schedule.new_flow("web", t0() + 8min);
    ASSERT_TRUE(schedule.relearn("web", 1min, t0() + 9min).ok());
    // The old flow would release at 13min; the new phase's quiet runs from 9min.
    EXPECT_TRUE(schedule.tick(t0() + 13min).empty());
    EXPECT_EQ(names_of(schedule.tick(t0() + 14min)), std::vector<std::string>{"web"});
    EXPECT_EQ(schedule.flows_learned("web"), 1u); // relearning keeps the count
}

TEST(LearningSchedule, HugePeriodsSaturateInsteadOfOverflowing) {
    auto schedule = make_schedule({.period = std::chrono::milliseconds(int64_t{1} << 52)});
    schedule.observe("web", t0());
    EXPECT_EQ(schedule.next_deadline(), TimePoint::max());
    EXPECT_TRUE(schedule.tick(t0() + std::chrono::hours(24 * 365 * 100)).empty());
    EXPECT_GT(*schedule.learning_remaining("web", t0()), std::chrono::hours(24 * 365 * 100));
    // The saturated deadline is stored and read back.
    auto restored = LearningSchedule::from_json(schedule.to_json(), schedule.config());
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    EXPECT_TRUE(restored.value().tick(t0() + std::chrono::hours(24 * 365 * 100)).empty());
}

TEST(LearningSchedule, StatesListEveryIdentitySortedWithItsProgress) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0());
    schedule.observe("db", t0() + 1min);
    schedule.new_flow("web", t0() + 2min);
    ASSERT_TRUE(schedule.set_mode("db", FW_MODE_BLOCK, t0() + 3min).ok());

    auto states = schedule.states(t0() + 4min);
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states[0].name, "db");
    EXPECT_EQ(states[0].mode, FW_MODE_BLOCK);
    EXPECT_EQ(states[0].first_seen, t0() + 1min);
    EXPECT_EQ(states[0].learning_until, std::nullopt);
    EXPECT_EQ(states[0].learning_remaining, std::nullopt);
    EXPECT_EQ(states[1].name, "web");
    EXPECT_EQ(states[1].mode, FW_MODE_LEARN);
    EXPECT_EQ(states[1].learning_since, t0());
    EXPECT_EQ(states[1].learning_until, t0() + 10min);
    EXPECT_EQ(states[1].learning_remaining, 6min);
    EXPECT_EQ(states[1].last_new_flow, t0() + 2min);
    EXPECT_EQ(states[1].flows_learned, 1u);
    EXPECT_FALSE(states[1].quiet_holding);
}

TEST(LearningConfigValidation, RejectsWhatCannotWork) {
    EXPECT_TRUE(validate({}).ok());
    EXPECT_TRUE(validate({.period = 0ms}).ok());
    auto expect_error = [](const LearningConfig& config, const std::string& fragment) {
        auto status = validate(config);
        ASSERT_FALSE(status.ok()) << fragment;
        EXPECT_NE(status.error().message.find(fragment), std::string::npos)
            << status.error().message;
        EXPECT_FALSE(LearningSchedule::create(config).ok());
    };
    expect_error({.period = -1s}, "learning period -1s is negative");
    expect_error({.quiet = -1s}, "quiet period -1s is negative");
    expect_error({.after = FW_MODE_LEARN}, "\"learn\" is not one of alert, block, off");
    expect_error({.after = FW_MODE_UNSET}, "after-learning action");
    expect_error({.period_overrides = {{"world", 1s}}}, "override for \"world\"");
    expect_error({.period_overrides = {{"db", -1s}}}, "override for \"db\": -1s is negative");
}

} // namespace
} // namespace flowwall::learning
