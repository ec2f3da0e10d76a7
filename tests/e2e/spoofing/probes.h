// SPDX-License-Identifier: Apache-2.0
//
// What the spoofing tables use to see whether an attack reached its target, and to send the
// legitimate ICMP errors that must still pass, on any Workload (a lab namespace or a Docker
// container's /proc/<pid>/ns/net).
#pragma once

#include "src/common/unique_fd.h"
#include "tests/support/netns_lab.h"
#include "tests/support/packet_builder.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace flowwall::testing {

// A UDP socket of a workload connected to to:port; receives() reads what arrives next (so a
// test can tell a forged "reply" from the real one).
class UdpClient {
public:
    UdpClient(const Workload& from, const Address& to, uint16_t port);
    uint16_t port() const { return port_; }
    void send(const std::string& text) const;
    // True when a datagram holding exactly `text` arrives within `timeout`.
    bool receives(const std::string& text, std::chrono::milliseconds timeout) const;

private:
    UniqueFd fd_;
    uint16_t port_ = 0;
};

// A raw ICMP socket in a workload: sees every ICMP message its stack takes in, as a
// colluding receiver of a covert channel would.
class IcmpWatcher {
public:
    explicit IcmpWatcher(const Workload& in);
    bool sees(const std::string& marker, std::chrono::milliseconds timeout) const;

private:
    UniqueFd fd_;
};

// The first `length` bytes of the packet from its IP header on: what an ICMP error quotes.
std::vector<uint8_t> l3_bytes(const PacketBuilder& packet, size_t length);

// Writes /proc/sys/net/<key> inside the workload's namespace; throws when it cannot.
void set_sysctl(const Workload& w, const std::string& key, const std::string& value);

// True once `ip <args>` in the workload's namespace prints `wanted` (within `timeout`).
bool poll_output(const Workload& w, const std::vector<std::string>& args, const std::string& wanted,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

// Path MTU discovery on a real flow: `client` sends a datagram to server:port (a flow that
// must pass both ways), `server` answers it with ICMP fragmentation needed (next-hop MTU
// 1280) quoting it. True when the client's kernel took the new MTU for its route.
bool path_mtu_error_reaches(const Workload& client, const Workload& server, uint16_t port);

} // namespace flowwall::testing
