// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/daemon/endpoints_writer.h"

#include <fstream>

namespace flowwall::testing {

using nlohmann::json;

json endpoint_entry(const std::string& name, const std::string& identity,
                    const Workload& workload) {
    return {{"name", name},
            {"identity", identity},
            {"netns", workload.netns_path},
            {"addresses", {workload.v4.str(), workload.v6.str()}}};
}

void write_endpoints(const std::filesystem::path& path, const json& entries) {
    auto temp = path.string() + ".tmp";
    std::ofstream(temp) << json{{"endpoints", entries}}.dump(2);
    std::filesystem::rename(temp, path);
}

} // namespace flowwall::testing
