// SPDX-License-Identifier: Apache-2.0
// New TCP connections per second, the TCP_CRR way: connect, send one request, read the answer,
// see the server close, close; `--parallel` such connections in flight at once, for
// `--seconds`. Prints one JSON object: completed connections, the rate, failures (refused,
// reset, short answers), timeouts (no answer within --timeout-ms: e.g. a dropped SYN) and the
// process's CPU time. `--start-at` (CLOCK_MONOTONIC ns) lets several clients begin together.
//
//   compare_connect_rate --to IPV4:PORT [--seconds 5] [--parallel 8] [--message-bytes 64]
//                        [--timeout-ms 1000] [--start-at NS]
#include "bench/compare/tools/tool_support.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using namespace flowwall::bench;

constexpr std::string_view kUsage =
    "usage: compare_connect_rate --to IPV4:PORT [--seconds 1..600] [--parallel 1..256] "
    "[--message-bytes 1..65536] [--timeout-ms 10..60000] [--start-at MONOTONIC_NS]";

struct Settings {
    sockaddr_in to{};
    int64_t duration_ns = 5'000'000'000;
    int parallel = 8;
    size_t message_bytes = kDefaultMessageBytes;
    int64_t timeout_ns = 1'000'000'000;
    int64_t start_at = 0;
};

struct Counts {
    uint64_t completed = 0;
    uint64_t failed = 0;
    uint64_t timed_out = 0;
};

// One connection in flight: connecting, then waiting for the answer and the server's close.
struct Slot {
    UniqueFd fd;
    int64_t started_ns = 0;
    size_t answered = 0;
    bool connected = false;
};

class ConnectLoop {
public:
    explicit ConnectLoop(const Settings& settings)
        : settings_(settings), epoll_(::epoll_create1(EPOLL_CLOEXEC)), slots_(settings.parallel) {
        if (!epoll_.valid())
            throw std::system_error(errno, std::generic_category(), "epoll_create1");
        request_.assign(settings.message_bytes, 'r');
        request_[0] = kCloseAfterAnswer;
    }

    Counts run(int64_t until_ns) {
        for (size_t i = 0; i < slots_.size(); ++i)
            open(i);
        epoll_event events[256];
        int64_t next_timeout_scan = monotonic_ns() + 10'000'000;
        for (;;) {
            int64_t now = monotonic_ns();
            if (now >= until_ns)
                break;
            int wait_ms = int(std::min<int64_t>(10, (until_ns - now) / 1'000'000 + 1));
            int ready = ::epoll_wait(epoll_.get(), events, 256, wait_ms);
            for (int i = 0; i < ready; ++i)
                step(events[i].data.u64, events[i].events);
            now = monotonic_ns();
            if (now >= next_timeout_scan) {
                expire(now);
                next_timeout_scan = now + 10'000'000;
            }
        }
        return counts_;
    }

private:
    void open(size_t index) {
        Slot& slot = slots_[index];
        slot.fd = start_connect(settings_.to);
        slot.started_ns = monotonic_ns();
        slot.answered = 0;
        slot.connected = false;
        epoll_event event{};
        event.events = EPOLLOUT;
        event.data.u64 = index;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, slot.fd.get(), &event) != 0)
            throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }

    // The slot's connection is over (closed, which also leaves the epoll set); start the next.
    void finish(size_t index, uint64_t& counter) {
        ++counter;
        slots_[index].fd.reset();
        open(index);
    }

    void step(size_t index, uint32_t events) {
        Slot& slot = slots_[index];
        if (!slot.connected) {
            if (connect_error(slot.fd.get()) != 0 || (events & EPOLLERR))
                return finish(index, counts_.failed);
            slot.connected = true;
            if (::write(slot.fd.get(), request_.data(), request_.size()) !=
                ssize_t(request_.size()))
                return finish(index, counts_.failed);
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.u64 = index;
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, slot.fd.get(), &event);
            return;
        }
        char buffer[4096];
        for (;;) {
            ssize_t got = ::read(slot.fd.get(), buffer, sizeof(buffer));
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (got < 0)
                return finish(index, counts_.failed);
            if (got == 0)
                return finish(index, slot.answered == settings_.message_bytes ? counts_.completed
                                                                              : counts_.failed);
            slot.answered += size_t(got);
        }
    }

    void expire(int64_t now) {
        for (size_t i = 0; i < slots_.size(); ++i)
            if (now - slots_[i].started_ns > settings_.timeout_ns)
                finish(i, counts_.timed_out);
    }

    const Settings& settings_;
    UniqueFd epoll_;
    std::vector<Slot> slots_;
    std::string request_;
    Counts counts_;
};

} // namespace

int main(int argc, char** argv) {
    Settings settings;
    try {
        ToolArguments args(
            argc, argv, kUsage,
            {"to", "seconds", "parallel", "message-bytes", "timeout-ms", "start-at"});
        settings.to = parse_endpoint(args.text("to"));
        settings.duration_ns = args.number("seconds", 5, 1, 600) * 1'000'000'000;
        settings.parallel = int(args.number("parallel", 8, 1, 256));
        settings.message_bytes =
            size_t(args.number("message-bytes", kDefaultMessageBytes, 1, kMaxMessageBytes));
        settings.timeout_ns = args.number("timeout-ms", 1000, 10, 60000) * 1'000'000;
        settings.start_at = args.number("start-at", 0, 0, INT64_MAX);
    } catch (const std::invalid_argument& error) {
        usage_error(error.what());
    }
    ::signal(SIGPIPE, SIG_IGN);
    try {
        ConnectLoop loop(settings);
        sleep_until_ns(settings.start_at);
        double cpu_before = process_cpu_seconds();
        int64_t started = monotonic_ns();
        Counts counts = loop.run(started + settings.duration_ns);
        double seconds = double(monotonic_ns() - started) / 1e9;
        double cpu = process_cpu_seconds() - cpu_before;
        std::printf("{\"connections\": %llu, \"seconds\": %.6f, \"per_second\": %.1f, "
                    "\"failed\": %llu, \"timed_out\": %llu, \"cpu_s\": %.6f}\n",
                    static_cast<unsigned long long>(counts.completed), seconds,
                    double(counts.completed) / seconds,
                    static_cast<unsigned long long>(counts.failed),
                    static_cast<unsigned long long>(counts.timed_out), cpu);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "compare_connect_rate: %s\n", error.what());
        return 1;
    }
    return 0;
}
