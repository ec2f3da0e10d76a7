// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/kernel_hz.h"

#include <zlib.h>

#include <cmath>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace flowwall::datapath {
namespace {

struct TickSample {
    uint64_t jiffies;
    uint64_t now_ns;
};

// /proc/timer_list starts with "now at N nsecs" and, per CPU, "jiffies: J".
std::optional<TickSample> read_timer_list() {
    std::ifstream in("/proc/timer_list");
    std::string line;
    std::optional<uint64_t> now, jiffies;
    while ((!now || !jiffies) && std::getline(in, line)) {
        if (!now && line.rfind("now at ", 0) == 0)
            now = std::stoull(line.substr(7));
        else if (!jiffies && line.rfind("jiffies: ", 0) == 0)
            jiffies = std::stoull(line.substr(9));
    }
    if (!now || !jiffies)
        return std::nullopt;
    return TickSample{*jiffies, *now};
}

std::optional<uint32_t> hz_from_timer_list() {
    auto first = read_timer_list();
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    auto second = read_timer_list();
    if (!first || !second || second->now_ns <= first->now_ns)
        return std::nullopt;
    double seconds = static_cast<double>(second->now_ns - first->now_ns) / 1e9;
    uint32_t hz =
        snap_to_common_hz(static_cast<double>(second->jiffies - first->jiffies) / seconds);
    return hz ? std::optional(hz) : std::nullopt;
}

std::optional<uint32_t> hz_from_kernel_config() {
    gzFile config = gzopen("/proc/config.gz", "rb");
    if (config == nullptr)
        return std::nullopt;
    char line[256];
    std::optional<uint32_t> hz;
    while (!hz && gzgets(config, line, sizeof(line)) != nullptr) {
        std::string text(line);
        if (text.rfind("CONFIG_HZ=", 0) == 0)
            hz = static_cast<uint32_t>(std::stoul(text.substr(10)));
    }
    gzclose(config);
    return hz;
}

} // namespace

uint32_t snap_to_common_hz(double measured) {
    for (uint32_t hz : {100u, 250u, 300u, 1000u}) {
        if (std::abs(measured - hz) <= hz * 0.1)
            return hz;
    }
    return 0;
}

uint64_t to_jiffies(std::chrono::nanoseconds duration, uint32_t hz) {
    auto ns = static_cast<uint64_t>(duration.count());
    return (ns * hz + 999'999'999ull) / 1'000'000'000ull;
}

Result<uint32_t> kernel_hz() {
    static std::once_flag once;
    static std::optional<uint32_t> cached;
    std::call_once(once, [] {
        cached = hz_from_timer_list();
        if (!cached)
            cached = hz_from_kernel_config();
    });
    if (!cached)
        return Error{ENOENT, "cannot tell the kernel's HZ: neither /proc/timer_list nor "
                             "/proc/config.gz is readable (run as root with /proc mounted)"};
    return *cached;
}

} // namespace flowwall::datapath
