// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/libbpf_log.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace flowwall::datapath {
namespace {

thread_local LibbpfLogCapture* active_capture = nullptr;
thread_local int expected_failures = 0;

int print_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
    char buffer[1024];
    int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
    if (n <= 0)
        return n;
    std::string text(buffer);
    while (!text.empty() && text.back() == '\n')
        text.pop_back();

    if (active_capture != nullptr)
        active_capture->append_line(text);
    if (level == LIBBPF_WARN && expected_failures > 0)
        level = LIBBPF_DEBUG;
    switch (level) {
    case LIBBPF_WARN:
        spdlog::warn("libbpf: {}", text);
        break;
    case LIBBPF_INFO:
        spdlog::debug("libbpf: {}", text);
        break;
    case LIBBPF_DEBUG:
        spdlog::trace("libbpf: {}", text);
        break;
    }
    return n;
}

} // namespace

void route_libbpf_logs_to_spdlog() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(print_to_spdlog); });
}

LibbpfLogCapture::LibbpfLogCapture() : previous_(active_capture) {
    route_libbpf_logs_to_spdlog();
    active_capture = this;
}

LibbpfLogCapture::~LibbpfLogCapture() {
    active_capture = previous_;
}

LibbpfFailureExpected::LibbpfFailureExpected() {
    route_libbpf_logs_to_spdlog();
    ++expected_failures;
}

LibbpfFailureExpected::~LibbpfFailureExpected() {
    --expected_failures;
}

std::string LibbpfLogCapture::tail(std::size_t max_lines) const {
    std::string out;
    std::size_t first = lines_.size() > max_lines ? lines_.size() - max_lines : 0;
    for (std::size_t i = first; i < lines_.size(); ++i) {
        if (!out.empty())
            out += '\n';
        out += lines_[i];
    }
    return out;
}

} // namespace flowwall::datapath
