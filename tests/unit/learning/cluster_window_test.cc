// SPDX-License-Identifier: Apache-2.0
// An identity's learning window in a cluster (issue 15): it starts when the cluster first saw
// the identity, on whichever node, so it ends on every node at once.
#include "src/learning/learning_schedule.h"

#include <gtest/gtest.h>

#include "tests/unit/learning/schedule_fixture.h"

namespace flowwall::learning {
namespace {

using namespace std::chrono_literals;
using testing::make_schedule;
using testing::t0;

TEST(ClusterLearningWindow, AnIdentityTheClusterSawEarlierLearnsOnlyForWhatIsLeft) {
    auto schedule = make_schedule({.period = 10min});
    EXPECT_TRUE(schedule.observe_since("web", t0()));
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 4min), 6min);
    EXPECT_EQ(schedule.tick(t0() + 10min).size(), 1u);
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_ALERT);
}

TEST(ClusterLearningWindow, AWindowThatIsOverEndsAtTheNextTick) {
    auto schedule = make_schedule({.period = 10min, .after = FW_MODE_BLOCK});
    schedule.observe_since("web", t0());
    auto transitions = schedule.tick(t0() + 1h);
    ASSERT_EQ(transitions.size(), 1u);
    EXPECT_EQ(schedule.mode_of("web"), FW_MODE_BLOCK) << "a node joining late enforces at once";
}

TEST(ClusterLearningWindow, AKnownIdentityMovesItsFirstWindowToTheClustersFirstSighting) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0() + 5min); // this node saw it 5 min after another one did
    EXPECT_TRUE(schedule.adopt_first_seen("web", t0()));
    EXPECT_EQ(schedule.first_seen("web"), t0());
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 6min), 4min);
    EXPECT_EQ(schedule.tick(t0() + 10min).size(), 1u) << "ends with the other node's window";
    EXPECT_FALSE(schedule.adopt_first_seen("web", t0() + 1min))
        << "a later sighting changes nothing";
}

TEST(ClusterLearningWindow, AnOperatorsRelearnIsNotMovedAndUnknownNamesAreLeftAlone) {
    auto schedule = make_schedule({.period = 10min});
    schedule.observe("web", t0() + 5min);
    ASSERT_TRUE(schedule.relearn("web", 30min, t0() + 6min));
    EXPECT_TRUE(schedule.adopt_first_seen("web", t0()));
    EXPECT_EQ(schedule.learning_remaining("web", t0() + 6min), 30min)
        << "a relearn is an operator's window, not the first one";
    EXPECT_FALSE(schedule.adopt_first_seen("db", t0()));
    EXPECT_EQ(schedule.mode_of("db"), FW_MODE_UNSET);
}

} // namespace
} // namespace flowwall::learning
