// SPDX-License-Identifier: Apache-2.0
#include "src/learning/learning_state_file.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "src/common/atomic_file.h"

namespace flowwall::learning {

using json = nlohmann::json;

Result<LearningSchedule> load_learning_state(const std::filesystem::path& path,
                                             const LearningConfig& config) {
    if (size_t removed = common::remove_interrupted_writes(path); removed > 0)
        spdlog::info("learning state: removed {} temporary files left by an interrupted save",
                     removed);
    std::error_code missing;
    auto previous = common::previous_version_path(path);
    if (!std::filesystem::exists(path, missing) && !std::filesystem::exists(previous, missing))
        return LearningSchedule::create(config);
    std::string why;
    for (const auto& candidate : {path, previous}) {
        auto text = common::read_file(candidate, 64u << 20);
        if (!text) {
            why += (why.empty() ? "" : "; ") + text.error().message;
            continue;
        }
        auto document = json::parse(text.value(), nullptr, false);
        if (document.is_discarded()) {
            why += (why.empty() ? "" : "; ") + candidate.string() + " is not JSON";
            continue;
        }
        auto schedule = LearningSchedule::from_json(document, config);
        if (!schedule) {
            why += (why.empty() ? "" : "; ") + candidate.string() + ": " + schedule.error().message;
            continue;
        }
        if (candidate != path)
            spdlog::warn("learning state {} unreadable, using its previous version: {}",
                         path.string(), why);
        return schedule;
    }
    return Error{EINVAL, "cannot load the learning state: " + why +
                             "; move the files away to start learning afresh"};
}

Status save_learning_state(const std::filesystem::path& path, const LearningSchedule& schedule) {
    return common::write_file_atomically(path, schedule.to_json().dump(1) + "\n", 0600, true);
}

} // namespace flowwall::learning
