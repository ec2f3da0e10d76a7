// SPDX-License-Identifier: Apache-2.0
//
// What an attacker who is root in a container sends: whole Ethernet frames written to a packet
// socket (AF_PACKET, CAP_NET_RAW, which Docker grants by default) on the workload's interface,
// so every field (MACs, source address, ARP and neighbour-discovery content) is the attacker's
// choice, and the frames that make up the attacks of spoofing tests.
//
// With qdisc_bypass (PACKET_QDISC_BYPASS) the frame goes straight to the driver: no qdisc and
// no TC egress hook of the sending interface sees it. That is how a workload skips a firewall
// whose programs sit on its own interface.
#pragma once

#include "src/common/unique_fd.h"
#include "tests/support/packet_builder.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace flowwall::testing {

class PacketSocket {
public:
    // Opens the socket inside the namespace, bound to `ifname` there. Throws on failure.
    PacketSocket(const std::string& netns_path, const std::string& ifname,
                 bool qdisc_bypass = false);

    // Sends one frame. False when the sending interface's own egress path dropped it (the
    // kernel says ENOBUFS: a TC program there said drop); throws on any other refusal.
    bool send(std::span<const uint8_t> frame) const;

private:
    UniqueFd fd_;
};

inline constexpr MacAddress kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// The Ethernet group of an IPv4 or IPv6 multicast address (01:00:5e:..., 33:33:...).
MacAddress multicast_mac(const Address& group);

// An ARP frame (Ethernet + ARP for IPv4 over Ethernet), op 1 request or 2 reply.
std::vector<uint8_t> arp_frame(uint16_t op, const MacAddress& eth_src, const MacAddress& eth_dst,
                               const MacAddress& sender_mac, const Address& sender_ip,
                               const MacAddress& target_mac, const Address& target_ip);

// An ICMPv6 frame with hop limit 255 (what neighbour discovery requires); `body` is what
// follows type, code and checksum. The checksum is computed.
std::vector<uint8_t> icmpv6_frame(const MacAddress& eth_src, const MacAddress& eth_dst,
                                  const Address& src, const Address& dst, uint8_t type,
                                  uint8_t code, std::span<const uint8_t> body);

// Unsolicited neighbour advertisement "target is at target_mac" with the override flag, sent
// from `src` to `dst`.
std::vector<uint8_t> neighbour_advert(const MacAddress& eth_src, const MacAddress& eth_dst,
                                      const Address& src, const Address& dst, const Address& target,
                                      const MacAddress& target_mac);

// Router advertisement from `src` (a link-local address): default router for 1800 s, with
// the /64 `prefix` for autoconfiguration.
std::vector<uint8_t> router_advert(const MacAddress& eth_src, const Address& src,
                                   const Address& prefix);

// Rewrites the four bytes after an ICMP (IPv4) checksum (the gateway of a redirect, the
// unused word of an error) and recomputes the ICMP checksum. `frame` is a PacketBuilder::icmp
// frame; `l4_offset` its l4_offset().
void set_icmp_word(std::vector<uint8_t>& frame, size_t l4_offset, std::span<const uint8_t, 4> word);

} // namespace flowwall::testing
