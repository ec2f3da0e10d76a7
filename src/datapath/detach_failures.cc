// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/detach_failures.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <utility>

namespace flowwall::datapath {
namespace {

std::mutex failures_mutex;
std::vector<Error> failures;

} // namespace

void record_detach_failure(Error error) {
    spdlog::warn("detach on shutdown failed: {}", error.to_string());
    std::lock_guard lock(failures_mutex);
    failures.push_back(std::move(error));
}

std::vector<Error> take_detach_failures() {
    std::lock_guard lock(failures_mutex);
    return std::exchange(failures, {});
}

} // namespace flowwall::datapath
