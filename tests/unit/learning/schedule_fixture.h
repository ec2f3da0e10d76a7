// SPDX-License-Identifier: Apache-2.0
// Shared by the learning tests: a hand-driven clock and a schedule made from a config.
#pragma once

#include <chrono>
#include <utility>

#include <gtest/gtest.h>

#include "src/learning/learning_schedule.h"

namespace flowwall::learning::testing {

using namespace std::chrono_literals;

// A fixed, whole-millisecond start, so JSON round trips (millisecond precision) are exact.
inline TimePoint t0() {
    return TimePoint(std::chrono::milliseconds(1'760'000'000'000));
}

inline LearningSchedule make_schedule(LearningConfig config = {}) {
    auto schedule = LearningSchedule::create(std::move(config));
    if (!schedule.ok())
        ADD_FAILURE() << schedule.error().message;
    return std::move(schedule).value();
}

} // namespace flowwall::learning::testing
