// SPDX-License-Identifier: Apache-2.0
// What the comparison's load tools share: their command line, the wire protocol of one
// request/answer, endpoints, clocks and CPU time.
//
// The protocol: a request is `message_bytes` bytes whose first byte says what follows the
// answer: 'c' the server closes the connection after answering (it closes first, so the
// TIME_WAIT state stays on the server and a client can open connections for minutes without
// running out of ports), 'k' the connection stays open for the next request. The answer is
// `message_bytes` bytes.
#pragma once

#include "src/common/unique_fd.h"

#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flowwall::bench {

// The tools live outside namespace flowwall (main() and their own anonymous namespaces).
using flowwall::UniqueFd;

constexpr char kCloseAfterAnswer = 'c';
constexpr char kKeepOpen = 'k';
constexpr int kDefaultMessageBytes = 64;
constexpr int kMaxMessageBytes = 65536;

// `--name value` pairs, each name from a fixed list; anything else is an error that names
// the argument and lists what the tool takes. Flags without a value are listed in `flags`.
class ToolArguments {
public:
    // Throws std::invalid_argument with the message to print.
    ToolArguments(int argc, char** argv, std::string_view usage,
                  std::initializer_list<std::string_view> options,
                  std::initializer_list<std::string_view> flags = {});

    bool has(std::string_view name) const;
    std::string text(std::string_view name, std::optional<std::string> fallback = {}) const;
    // An integer in [min, max]; throws std::invalid_argument naming the option otherwise.
    int64_t number(std::string_view name, std::optional<int64_t> fallback, int64_t min,
                   int64_t max) const;

private:
    std::string usage_;
    std::map<std::string, std::string, std::less<>> values_;
};

// "198.18.0.2:8080" (IPv4 only: the comparison's lab is IPv4). Throws std::invalid_argument.
sockaddr_in parse_endpoint(std::string_view text);

// CLOCK_MONOTONIC, the clock the comparison script reads too (time.monotonic_ns()), so
// times from several processes compare.
int64_t monotonic_ns();
// Sleeps until monotonic_ns() >= at (returns at once when it has passed).
void sleep_until_ns(int64_t at);
// User + system time of every thread of this process, in seconds. Without IRQ time
// accounting the kernel charges softirq work (the forwarding path of a veth transmit) to
// the task it interrupted, so this includes the network stack's share done in our context.
double process_cpu_seconds();

// A non-blocking TCP socket with TCP_NODELAY whose connect() has been started. Throws
// std::system_error when the socket cannot be created or connect() fails at once; a refused
// or unanswered connect shows later, in SO_ERROR (connect_error()).
UniqueFd start_connect(const sockaddr_in& to);
// SO_ERROR of a socket whose connect finished: 0 when connected.
int connect_error(int fd);

void set_nodelay(int fd);

// Terminates with status 2 and the message on stderr: for command-line errors.
[[noreturn]] void usage_error(const std::string& message);

} // namespace flowwall::bench
