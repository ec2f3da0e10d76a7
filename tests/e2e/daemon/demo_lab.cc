// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/daemon/demo_lab.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace flowwall::testing {

DemoLab::DemoLab() {
    Lab::remove_stale();
    web_ = &lab_.add_workload("web");
    api_ = &lab_.add_workload("api");
    db_ = &lab_.add_workload("db");
    intruder_ = &lab_.add_workload("intruder");
    servers_.push_back(std::make_unique<TcpServer>(api_->netns_path, api_->v4, kApiPort));
    servers_.push_back(std::make_unique<TcpServer>(db_->netns_path, db_->v4, kDbPort));
    servers_.push_back(std::make_unique<TcpServer>(db_->netns_path, db_->v4, kSshPort));
    servers_.push_back(std::make_unique<TcpServer>(web_->netns_path, web_->v4, kApiPort));

    nlohmann::json endpoints = nlohmann::json::array();
    for (const Workload* w : workloads())
        endpoints.push_back({{"name", w->name + "-1"},
                             {"identity", w->name},
                             {"netns", w->netns_path},
                             {"addresses", {w->v4.str(), w->v6.str()}}});
    endpoints_file_ =
        std::filesystem::temp_directory_path() / ("flowwall-demo-" + lab_.prefix() + ".json");
    std::ofstream(endpoints_file_) << nlohmann::json{{"endpoints", endpoints}}.dump(2);
}

DemoLab::~DemoLab() {
    std::error_code ignored;
    std::filesystem::remove(endpoints_file_, ignored);
}

std::vector<std::string> DemoLab::daemon_args() const {
    return {"--docker", "false", "--endpoints-file", endpoints_file_.string()};
}

bool connects(const Workload& from, const Workload& to, uint16_t port, bool expect_ok) {
    return tcp_connect(from.netns_path, to.v4, port, expect_ok ? kAllowTimeout : kDenyTimeout).ok();
}

} // namespace flowwall::testing
