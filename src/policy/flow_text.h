// SPDX-License-Identifier: Apache-2.0
// Flows as people and files write them: by identity name, never by address, so a model
// learned on one node or cluster means the same on another (DESIGN.md, Identities).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/common/result.h"

namespace flowwall::policy {

// What the datapath judges a new connection by (abi.h fw_policy_key, with names for ids).
struct FlowKey {
    std::string src;
    std::string dst;
    uint16_t port = 0;    // destination port; 0 for protocols without ports (ICMP)
    uint8_t protocol = 0; // IPPROTO_* number

    auto operator<=>(const FlowKey&) const = default;
    bool operator==(const FlowKey&) const = default;
};

inline constexpr uint8_t kProtocolIcmp = 1;
inline constexpr uint8_t kProtocolTcp = 6;
inline constexpr uint8_t kProtocolUdp = 17;
inline constexpr uint8_t kProtocolIcmpv6 = 58;

// Only TCP and UDP: the datapath reads no other protocol's ports (bpf/lib/parse.h), so any
// other flow's port is 0.
bool protocol_has_ports(uint8_t protocol);

// "tcp", "udp", "icmp", "icmpv6", otherwise the number ("47"). Never null; the pointer
// stays valid for the life of the program.
const char* protocol_name(uint8_t protocol);
std::string protocol_string(uint8_t protocol);
// The names above (any case) or a number 0-255; the error lists what is accepted.
Result<uint8_t> parse_protocol(std::string_view text);

// The CLI form `SRC DST PORT/PROTO` (`web db 3306/tcp`), or `SRC DST PROTO` for protocols
// without ports (`web db icmp`); port 0 with those (`web db 0/47`, `0/icmp`) is accepted
// because a bare number is taken for a port whose protocol is missing. Port 1-65535 for
// tcp and udp; names must pass validate_identity_name.
// Errors are one line: what was wrong and the expected form.
Result<FlowKey> parse_flow(std::string_view src, std::string_view dst, std::string_view port_proto);
// What every flow in a model satisfies: both names pass validate_identity_name, and the
// port is 0 for protocols without ports. The error says which part is wrong.
Status validate_flow_key(const FlowKey& flow);

// Node and workload names in a model: 1-253 printable ASCII characters, no spaces.
inline constexpr size_t kMaxLabelLength = 253;
Status validate_label(std::string_view label);
// The label with anything else replaced by '_' and cut to 253 characters ("" stays ""):
// container and node names come from outside and must not make the model unreadable.
std::string sanitize_label(std::string_view label);

// "3306/tcp", "icmp", "0/47": what parse_flow() takes back.
std::string port_proto_string(const FlowKey& flow);
// "web db 3306/tcp": the CLI arguments for this flow, for messages that tell what to type.
std::string flow_string(const FlowKey& flow);

// Times in the model are whole seconds (the file holds no more), from 1970 to 2261 (the
// end of system_clock's 64-bit nanoseconds); to_model_time() floors and clamps.
using TimePoint = std::chrono::system_clock::time_point;
TimePoint to_model_time(TimePoint time);
// RFC 3339 UTC with seconds: "2026-11-22T18:00:00Z".
std::string format_time(TimePoint time);
// The same 20 characters without an allocation, for writers of large models.
inline constexpr size_t kTimeTextLength = 20;
void format_time_to(TimePoint time, char (&text)[kTimeTextLength]);
// RFC 3339 UTC ("Z"), fractional seconds accepted and dropped; offsets other than Z are
// refused so that every file reads the same on every node.
Result<TimePoint> parse_time(std::string_view text);

// The text with control characters replaced by '?' and cut to max_chars ("..." marks the
// cut): safe to put into a one-line error whatever a file or a user gave us.
std::string one_line(std::string_view text, size_t max_chars = 300);
// Same, in double quotes, cut shorter: for quoting a value inside a message.
std::string in_quotes(std::string_view text, size_t max_chars = 60);

} // namespace flowwall::policy
