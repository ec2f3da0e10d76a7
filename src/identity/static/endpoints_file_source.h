// SPDX-License-Identifier: Apache-2.0
// Follows the endpoints file (endpoints_file.h): every successful read is sent as the
// complete set of this source's workloads. A file that does not parse leaves the last good
// set in place, so a typo while editing never unguards running workloads; it only turns
// the source's health to unavailable until the file is fixed.
#pragma once

#include <chrono>
#include <filesystem>

#include "src/identity/workload_source.h"

namespace flowwall::identity {

class EndpointsFileSource : public WorkloadSource {
public:
    // stat_interval: how often the file is checked without inotify's help (a directory
    // that does not exist yet, a filesystem without inotify).
    explicit EndpointsFileSource(std::filesystem::path path,
                                 std::chrono::milliseconds stat_interval = std::chrono::seconds(2));

    std::string name() const override;
    void run(WorkloadSink& sink, std::stop_token stop) override;

private:
    std::filesystem::path path_;
    std::chrono::milliseconds stat_interval_;
};

} // namespace flowwall::identity
