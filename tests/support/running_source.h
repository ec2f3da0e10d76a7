// SPDX-License-Identifier: Apache-2.0
// A workload source running on its own thread for a test; the destructor stops it and checks
// that run() ended within a second of the stop request, as WorkloadSource promises.
#pragma once

#include "tests/support/recording_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace flowwall::testing {

template <typename Source>
class RunningSource {
public:
    RunningSource(typename Source::Options options, RecordingSink& sink)
        : source_(std::move(options)),
          thread_([this, &sink](std::stop_token stop) { source_.run(sink, stop); }) {}
    ~RunningSource() { stop(); }
    RunningSource(const RunningSource&) = delete;
    RunningSource& operator=(const RunningSource&) = delete;

    std::chrono::milliseconds stop() {
        if (!thread_.joinable())
            return {};
        const auto start = std::chrono::steady_clock::now();
        thread_.request_stop();
        thread_.join();
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        EXPECT_LT(took, std::chrono::seconds(1))
            << "run() must end within a second of the stop request";
        return took;
    }

private:
    Source source_;
    std::jthread thread_;
};

} // namespace flowwall::testing
