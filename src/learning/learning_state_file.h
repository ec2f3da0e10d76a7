// SPDX-License-Identifier: Apache-2.0
// The learning state on disk (<state dir>/learning.json): each identity's mode, learning window
// and flows, so that a restart neither restarts learning nor ends it early. Written atomically
// with the previous version kept; a file that does not parse falls back to that version, and if
// neither loads, start-up fails naming both (never a silent fresh start: that would learn again
// what should be blocked).
#pragma once

#include <filesystem>

#include "src/common/result.h"
#include "src/learning/learning_schedule.h"

namespace flowwall::learning {

inline constexpr const char* kLearningStateFile = "learning.json";

// The schedule saved at `path`, or a new one when neither it nor its previous version exists.
Result<LearningSchedule> load_learning_state(const std::filesystem::path& path,
                                             const LearningConfig& config);

Status save_learning_state(const std::filesystem::path& path, const LearningSchedule& schedule);

} // namespace flowwall::learning
