// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/reliability/reliability_support.h"

#include "src/common/unique_fd.h"
#include "src/datapath/tc_attachment.h"

#include <bpf/bpf.h>

#include <fstream>
#include <sstream>

namespace flowwall::testing {

using nlohmann::json;

json model_flow(const std::string& src, const std::string& dst, uint16_t port,
                const std::string& protocol) {
    return {{"src", src},
            {"dst", dst},
            {"port", port},
            {"protocol", protocol},
            {"first_seen", "2026-01-01T00:00:00Z"},
            {"last_seen", "2026-01-01T00:00:00Z"},
            {"count", 1},
            {"nodes", json::array()},
            {"workloads", json::array()}};
}

void write_model(const std::filesystem::path& path, const json& flows) {
    std::ofstream(path) << json{{"version", 1}, {"flows", flows}}.dump();
}

namespace {

UniqueFd open_pin(const std::filesystem::path& path) {
    return UniqueFd(::bpf_obj_get(path.c_str()));
}

} // namespace

PinnedIds pinned_ids(const std::filesystem::path& pin_dir) {
    PinnedIds ids;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(pin_dir, error)) {
        if (entry.is_directory(error))
            continue;
        auto fd = open_pin(entry.path());
        bpf_map_info info{};
        uint32_t length = sizeof(info);
        if (fd.valid() && ::bpf_obj_get_info_by_fd(fd.get(), &info, &length) == 0)
            ids.maps[entry.path().filename().string()] = info.id;
    }
    for (const auto& entry : std::filesystem::directory_iterator(pin_dir / "links", error)) {
        auto fd = open_pin(entry.path());
        bpf_link_info info{};
        uint32_t length = sizeof(info);
        if (fd.valid() && ::bpf_obj_get_info_by_fd(fd.get(), &info, &length) == 0) {
            ids.links[entry.path().filename().string()] = info.id;
            ids.link_programs[entry.path().filename().string()] = info.prog_id;
        }
    }
    return ids;
}

std::vector<uint32_t> daemon_program_ids(const DaemonProcess& daemon) {
    std::vector<uint32_t> ids;
    // Held by name: a range-for over a member of a temporary outlives the temporary.
    const json status = daemon.cli_json({"status"});
    for (const auto& program : status.at("datapath").at("programs"))
        ids.push_back(program.at("id").get<uint32_t>());
    return ids;
}

std::string program_tag(uint32_t program_id) {
    UniqueFd fd(::bpf_prog_get_fd_by_id(program_id));
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    if (!fd.valid() || ::bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
        return {};
    std::string hex;
    for (uint8_t byte : info.tag) {
        static constexpr char digits[] = "0123456789abcdef";
        hex += digits[byte >> 4];
        hex += digits[byte & 15];
    }
    return hex;
}

size_t programs_on(const Workload& workload, bool ingress) {
    auto ids =
        datapath::tcx_program_ids({workload.hub_netns_path, workload.hub_ifname},
                                  ingress ? datapath::TcHook::ingress : datapath::TcHook::egress);
    return ids ? ids.value().size() : 0;
}

TrafficLoop::TrafficLoop(Options options, std::function<TcpResult()> attempt)
    : options_(std::move(options)) {
    thread_ = std::jthread([this, attempt = std::move(attempt)](std::stop_token stop) {
        const auto deadline = std::chrono::steady_clock::now() + options_.budget;
        for (int i = 0; i < options_.max_attempts && !stop.stop_requested() &&
                        std::chrono::steady_clock::now() < deadline;
             ++i) {
            TcpResult result = attempt();
            ++attempts_;
            bool as_expected = options_.expect_connected ? result.ok() : !result.connected;
            if (!as_expected) {
                ++unexpected_;
                std::lock_guard lock(mutex_);
                if (examples_.size() < 5)
                    examples_.push_back(
                        "attempt " + std::to_string(i) + ": " +
                        (options_.expect_connected ? "failed: " + result.error : "connected"));
            }
            std::this_thread::sleep_for(options_.pause);
        }
    });
}

TrafficLoop::~TrafficLoop() {
    thread_.request_stop();
}

void TrafficLoop::wait() {
    if (thread_.joinable())
        thread_.join();
}

std::string TrafficLoop::summary() const {
    std::ostringstream out;
    out << options_.name << ": " << attempts() << " attempts, " << unexpected()
        << (options_.expect_connected ? " failed" : " got through");
    std::lock_guard lock(mutex_);
    for (const auto& example : examples_)
        out << "\n  " << example;
    return out.str();
}

} // namespace flowwall::testing
