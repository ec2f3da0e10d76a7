// SPDX-License-Identifier: Apache-2.0
// Request/answer latency on one established connection, the TCP_RR way: send a request,
// wait for the whole answer, send the next, for `--seconds` after `--warmup` untimed
// transactions. Prints one JSON object: the count, p50/p90/p99/max/mean in µs, and the
// latencies as a histogram (0.25 µs buckets below 1 ms, 100 µs buckets below 100 ms, 10 ms
// above), so a caller can merge several runs and take percentiles of the whole. Blocking
// socket with a 2 s receive timeout, so a lost answer ends the run with an error instead of
// hanging it.
//
//   compare_rr_latency --to IPV4:PORT [--seconds 5] [--message-bytes 64] [--warmup 200]
#include "bench/compare/tools/tool_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

using namespace flowwall::bench;

constexpr std::string_view kUsage = "usage: compare_rr_latency --to IPV4:PORT [--seconds 1..600] "
                                    "[--message-bytes 1..65536] [--warmup 0..100000]";

UniqueFd connect_blocking(const sockaddr_in& to) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        throw std::system_error(errno, std::generic_category(), "socket");
    set_nodelay(fd.get());
    timeval timeout{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0)
        throw std::system_error(errno, std::generic_category(), "connect");
    return fd;
}

void transact(int fd, const std::string& request, std::string& answer) {
    if (::write(fd, request.data(), request.size()) != ssize_t(request.size()))
        throw std::system_error(errno, std::generic_category(), "write the request");
    size_t have = 0;
    while (have < answer.size()) {
        ssize_t got = ::read(fd, answer.data() + have, answer.size() - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            throw std::system_error(got == 0 ? ECONNRESET : errno, std::generic_category(),
                                    "read the answer");
        have += size_t(got);
    }
}

// The lower bound of the histogram bucket that holds `ns`.
int64_t bucket_of(int64_t ns) {
    constexpr int64_t fine = 250, medium = 100'000, coarse = 10'000'000;
    if (ns < 1'000'000)
        return ns / fine * fine;
    if (ns < 100'000'000)
        return ns / medium * medium;
    return ns / coarse * coarse;
}

// Nearest rank: the smallest value that at least `fraction` of the samples do not exceed.
double percentile_us(const std::vector<int64_t>& sorted_ns, double fraction) {
    auto rank = size_t(std::ceil(fraction * double(sorted_ns.size())));
    return double(sorted_ns[std::clamp<size_t>(rank, 1, sorted_ns.size()) - 1]) / 1e3;
}

} // namespace

int main(int argc, char** argv) {
    sockaddr_in to{};
    int64_t duration_ns = 0;
    size_t message_bytes = 0;
    int64_t warmup = 0;
    try {
        ToolArguments args(argc, argv, kUsage, {"to", "seconds", "message-bytes", "warmup"});
        to = parse_endpoint(args.text("to"));
        duration_ns = args.number("seconds", 5, 1, 600) * 1'000'000'000;
        message_bytes =
            size_t(args.number("message-bytes", kDefaultMessageBytes, 1, kMaxMessageBytes));
        warmup = args.number("warmup", 200, 0, 100000);
    } catch (const std::invalid_argument& error) {
        usage_error(error.what());
    }
    ::signal(SIGPIPE, SIG_IGN);
    try {
        UniqueFd fd = connect_blocking(to);
        std::string request(message_bytes, 'r');
        request[0] = kKeepOpen;
        std::string answer(message_bytes, '\0');
        for (int64_t i = 0; i < warmup; ++i)
            transact(fd.get(), request, answer);

        std::vector<int64_t> latencies;
        latencies.reserve(1 << 20);
        int64_t until = monotonic_ns() + duration_ns;
        for (int64_t now = monotonic_ns(); now < until;) {
            transact(fd.get(), request, answer);
            int64_t done = monotonic_ns();
            latencies.push_back(done - now);
            now = done;
        }
        std::sort(latencies.begin(), latencies.end());
        double sum = 0;
        std::map<int64_t, uint64_t> histogram;
        for (int64_t ns : latencies) {
            sum += double(ns);
            ++histogram[bucket_of(ns)];
        }
        std::printf("{\"transactions\": %zu, \"p50_us\": %.2f, \"p90_us\": %.2f, "
                    "\"p99_us\": %.2f, \"max_us\": %.2f, \"mean_us\": %.2f, "
                    "\"histogram_ns\": [",
                    latencies.size(), percentile_us(latencies, 0.50),
                    percentile_us(latencies, 0.90), percentile_us(latencies, 0.99),
                    double(latencies.back()) / 1e3, sum / double(latencies.size()) / 1e3);
        const char* separator = "";
        for (auto [bucket, count] : histogram) {
            std::printf("%s[%lld, %llu]", separator, static_cast<long long>(bucket),
                        static_cast<unsigned long long>(count));
            separator = ", ";
        }
        std::printf("]}\n");
    } catch (const std::exception& error) {
        std::fprintf(stderr, "compare_rr_latency: %s\n", error.what());
        return 1;
    }
    return 0;
}
