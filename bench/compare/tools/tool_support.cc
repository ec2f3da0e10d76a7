// SPDX-License-Identifier: Apache-2.0
#include "bench/compare/tools/tool_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace flowwall::bench {

ToolArguments::ToolArguments(int argc, char** argv, std::string_view usage,
                             std::initializer_list<std::string_view> options,
                             std::initializer_list<std::string_view> flags)
    : usage_(usage) {
    auto listed = [](std::initializer_list<std::string_view> names, std::string_view name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg.rfind("--", 0) != 0)
            throw std::invalid_argument("unexpected argument \"" + std::string(arg) + "\"\n" +
                                        usage_);
        std::string_view name = arg.substr(2);
        if (listed(flags, name)) {
            values_[std::string(name)] = "";
        } else if (listed(options, name)) {
            if (i + 1 >= argc)
                throw std::invalid_argument(std::string(arg) + " needs a value\n" + usage_);
            values_[std::string(name)] = argv[++i];
        } else {
            throw std::invalid_argument("unknown option " + std::string(arg) + "\n" + usage_);
        }
    }
}

bool ToolArguments::has(std::string_view name) const {
    return values_.find(name) != values_.end();
}

std::string ToolArguments::text(std::string_view name, std::optional<std::string> fallback) const {
    if (auto found = values_.find(name); found != values_.end())
        return found->second;
    if (!fallback)
        throw std::invalid_argument("--" + std::string(name) + " is required\n" + usage_);
    return *fallback;
}

int64_t ToolArguments::number(std::string_view name, std::optional<int64_t> fallback, int64_t min,
                              int64_t max) const {
    auto found = values_.find(name);
    if (found == values_.end()) {
        if (!fallback)
            throw std::invalid_argument("--" + std::string(name) + " is required\n" + usage_);
        return *fallback;
    }
    const std::string& text = found->second;
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        throw std::invalid_argument("--" + std::string(name) + " \"" + text +
                                    "\" is not a whole number from " + std::to_string(min) +
                                    " to " + std::to_string(max));
    return value;
}

sockaddr_in parse_endpoint(std::string_view text) {
    auto colon = text.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    unsigned port = 0;
    std::string host(text.substr(0, colon == std::string_view::npos ? 0 : colon));
    bool ok = colon != std::string_view::npos &&
              ::inet_pton(AF_INET, host.c_str(), &address.sin_addr) == 1;
    if (ok) {
        auto digits = text.substr(colon + 1);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        ok = error == std::errc{} && end == digits.data() + digits.size() && port > 0 &&
             port < 65536;
    }
    if (!ok)
        throw std::invalid_argument("\"" + std::string(text) +
                                    "\" is not IPV4:PORT, e.g. 198.19.4.2:8080");
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
}

int64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void sleep_until_ns(int64_t at) {
    timespec until{static_cast<time_t>(at / 1'000'000'000), static_cast<long>(at % 1'000'000'000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
}

double process_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

UniqueFd start_connect(const sockaddr_in& to) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        throw std::system_error(errno, std::generic_category(), "socket");
    set_nodelay(fd.get());
    // EINPROGRESS is the normal answer; a refusal or timeout comes later, through SO_ERROR.
    // Failing at once means the lab is broken (no route, no free local port): stop.
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0 &&
        errno != EINPROGRESS)
        throw std::system_error(errno, std::generic_category(), "connect");
    return fd;
}

int connect_error(int fd) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
        return errno;
    return error;
}

void usage_error(const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(2);
}

} // namespace flowwall::bench
