// SPDX-License-Identifier: Apache-2.0
// Is a flow open? Two questions the comparison asks before and around its figures.
//
// Once (default): one connection to --to with a request and its answer, within --timeout-ms.
// Prints {"result": "open" | "dropped" | "refused" | "error", "ms": ..., "error": "..."}; exits
// 0 open, 1 dropped (no answer to the SYN: a firewall dropped it), 2 refused (RST: nothing
// listens, which the lab never intends), 3 anything else.
//
// --until-open: for the time a policy change takes to apply. Starts a new connection every
// --interval-us (a new source port each time, so each SYN is a new connection to judge), each
// abandoned after --attempt-timeout-ms without an answer. Once the first --confirm attempts
// have gone unanswered it prints "closed"; the caller then writes the CLOCK_MONOTONIC time
// (ns) at which it starts its change as one line on stdin, and makes the change. The probe
// stops at the first answered attempt sent at or after that time and prints {"opened": true,
// "first_open_sent_ns": ..., "opened_before_start": ..., "attempts": ...}. Attempts sent
// before the start but answered (their SYN waited in a queue on a busy machine until the
// change had applied) are only counted: their send time says nothing about the change.
// Exits 0 once open, 1 when nothing opened within --give-up-ms, 4 when the flow was open
// before the change started.
//
//   compare_probe --to IPV4:PORT [--timeout-ms 500]
//   compare_probe --to IPV4:PORT --until-open [--interval-us 250] [--attempt-timeout-ms 50]
//                 [--confirm 20] [--give-up-ms 20000]
#include "bench/compare/tools/tool_support.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

using namespace flowwall::bench;

constexpr std::string_view kUsage =
    "usage: compare_probe --to IPV4:PORT [--timeout-ms 10..60000]\n"
    "       compare_probe --to IPV4:PORT --until-open [--interval-us 50..100000] "
    "[--attempt-timeout-ms 5..5000] [--confirm 1..1000] [--give-up-ms 100..600000]";

enum class Outcome { open, dropped, refused, error };

// Waits for `events` on fd until the monotonic deadline; false on timeout.
bool wait_for(int fd, short events, int64_t deadline_ns) {
    for (;;) {
        int64_t left_ms = (deadline_ns - monotonic_ns()) / 1'000'000;
        if (left_ms < 0)
            return false;
        pollfd waiting{fd, events, 0};
        int ready = ::poll(&waiting, 1, int(left_ms) + 1);
        if (ready > 0)
            return true;
        if (ready == 0 && monotonic_ns() >= deadline_ns)
            return false;
        if (ready < 0 && errno != EINTR)
            return false;
    }
}

int probe_once(const sockaddr_in& to, int64_t timeout_ns) {
    int64_t started = monotonic_ns();
    int64_t deadline = started + timeout_ns;
    Outcome outcome = Outcome::error;
    std::string error;
    UniqueFd fd = start_connect(to);
    if (!wait_for(fd.get(), POLLOUT, deadline)) {
        outcome = Outcome::dropped;
    } else if (int failed = connect_error(fd.get()); failed != 0) {
        outcome = failed == ECONNREFUSED ? Outcome::refused : Outcome::error;
        error = std::strerror(failed);
    } else {
        std::string request(kDefaultMessageBytes, 'r');
        request[0] = kCloseAfterAnswer;
        size_t answered = 0;
        if (::write(fd.get(), request.data(), request.size()) != ssize_t(request.size()))
            error = std::string("write: ") + std::strerror(errno);
        while (error.empty()) {
            if (!wait_for(fd.get(), POLLIN, deadline)) {
                error = "connected, but no answer within the timeout";
                break;
            }
            char buffer[512];
            ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (got < 0) {
                error = std::string("read: ") + std::strerror(errno);
            } else if (got == 0) {
                if (answered == size_t(kDefaultMessageBytes))
                    outcome = Outcome::open;
                else
                    error = "short answer: " + std::to_string(answered) + " bytes";
                break;
            }
            answered += size_t(got);
        }
    }
    static constexpr const char* names[] = {"open", "dropped", "refused", "error"};
    std::printf("{\"result\": \"%s\", \"ms\": %.3f, \"error\": \"%s\"}\n", names[int(outcome)],
                double(monotonic_ns() - started) / 1e6, error.c_str());
    return int(outcome);
}

struct Attempt {
    UniqueFd fd;
    int64_t sent_ns;
};

class UntilOpen {
public:
    UntilOpen(const sockaddr_in& to, int64_t interval_ns, int64_t attempt_timeout_ns, int confirm)
        : to_(to), interval_ns_(interval_ns), attempt_timeout_ns_(attempt_timeout_ns),
          confirm_(confirm), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll_.valid())
            throw std::system_error(errno, std::generic_category(), "epoll_create1");
        watch(STDIN_FILENO, EPOLLIN);
    }

    int run(int64_t give_up_ns) {
        int64_t give_up_at = monotonic_ns() + give_up_ns;
        int64_t next_send = monotonic_ns();
        epoll_event events[64];
        for (;;) {
            int64_t now = monotonic_ns();
            if (now >= give_up_at) {
                std::printf("{\"opened\": false, \"attempts\": %llu}\n",
                            static_cast<unsigned long long>(attempts_));
                return 1;
            }
            expire(now);
            if (now >= next_send) {
                send(now);
                next_send += interval_ns_;
            }
            int wait_ms = int(std::max<int64_t>(0, (next_send - monotonic_ns()) / 1'000'000));
            int ready = ::epoll_wait(epoll_.get(), events, 64, wait_ms);
            // The start time first: an answer in the same batch is judged against it.
            for (int i = 0; i < ready; ++i)
                if (events[i].data.fd == STDIN_FILENO)
                    read_start();
            int64_t first_open = INT64_MAX;
            for (int i = 0; i < ready; ++i)
                if (events[i].data.fd != STDIN_FILENO)
                    first_open = std::min(first_open, answered(events[i].data.fd));
            if (first_open == INT64_MAX)
                continue;
            if (start_ns_ < 0) {
                std::fprintf(stderr, "compare_probe: the flow opened before the change "
                                     "started: it was never closed\n");
                return 4;
            }
            std::printf("{\"opened\": true, \"first_open_sent_ns\": %lld, "
                        "\"opened_before_start\": %d, \"attempts\": %llu}\n",
                        static_cast<long long>(first_open), opened_before_start_,
                        static_cast<unsigned long long>(attempts_));
            return 0;
        }
    }

private:
    void watch(int fd, uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
            throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }

    void send(int64_t now) {
        UniqueFd fd = start_connect(to_);
        watch(fd.get(), EPOLLOUT);
        pending_.push_back({std::move(fd), now});
        ++attempts_;
    }

    // Unanswered for too long: dropped. Closing a socket in SYN_SENT sends nothing.
    void expire(int64_t now) {
        while (!pending_.empty() && now - pending_.front().sent_ns > attempt_timeout_ns_) {
            pending_.pop_front();
            if (++unanswered_ == confirm_) {
                std::printf("closed\n");
                std::fflush(stdout);
            }
        }
    }

    void read_start() {
        char line[64] = {};
        ssize_t got = ::read(STDIN_FILENO, line, sizeof(line) - 1);
        if (got <= 0) {
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, STDIN_FILENO, nullptr); // caller gone
            return;
        }
        if (unanswered_ >= confirm_)
            start_ns_ = std::strtoll(line, nullptr, 10);
    }

    // The send time of the attempt on fd if its SYN was answered and counts, else INT64_MAX.
    // Every attempt that reported leaves the pending list, or it would report again.
    int64_t answered(int fd) {
        for (auto attempt = pending_.begin(); attempt != pending_.end(); ++attempt) {
            if (attempt->fd.get() != fd)
                continue;
            int failed = connect_error(fd);
            int64_t sent = attempt->sent_ns;
            pending_.erase(attempt);
            // A refusal also means the SYN got through the firewall.
            if (failed != 0 && failed != ECONNREFUSED)
                return INT64_MAX;
            if (start_ns_ >= 0 && sent < start_ns_) {
                ++opened_before_start_;
                return INT64_MAX;
            }
            return sent;
        }
        return INT64_MAX;
    }

    sockaddr_in to_;
    int64_t interval_ns_;
    int64_t attempt_timeout_ns_;
    int confirm_;
    UniqueFd epoll_;
    std::deque<Attempt> pending_; // oldest first: attempts share one timeout
    uint64_t attempts_ = 0;
    int unanswered_ = 0;
    int64_t start_ns_ = -1;
    int opened_before_start_ = 0;
};

} // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    try {
        ToolArguments args(
            argc, argv, kUsage,
            {"to", "timeout-ms", "interval-us", "attempt-timeout-ms", "confirm", "give-up-ms"},
            {"until-open"});
        sockaddr_in to = parse_endpoint(args.text("to"));
        if (!args.has("until-open"))
            return probe_once(to, args.number("timeout-ms", 500, 10, 60000) * 1'000'000);
        UntilOpen probe(to, args.number("interval-us", 250, 50, 100000) * 1000,
                        args.number("attempt-timeout-ms", 50, 5, 5000) * 1'000'000,
                        int(args.number("confirm", 20, 1, 1000)));
        return probe.run(args.number("give-up-ms", 20000, 100, 600000) * 1'000'000);
    } catch (const std::invalid_argument& error) {
        usage_error(error.what());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "compare_probe: %s\n", error.what());
        return 3;
    }
}
