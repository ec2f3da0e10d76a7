// SPDX-License-Identifier: Apache-2.0
#include "tests/support/packet_socket.h"

#include "tests/support/netns_lab.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>
#include <system_error>

namespace flowwall::testing {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void put16(std::vector<uint8_t>& out, uint16_t value) {
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value & 0xff));
}

void put(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void ethernet(std::vector<uint8_t>& out, const MacAddress& src, const MacAddress& dst,
              uint16_t type) {
    put(out, dst);
    put(out, src);
    put16(out, type);
}

uint32_t sum16(std::span<const uint8_t> bytes, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (bytes.size() % 2 != 0)
        sum += static_cast<uint32_t>(bytes.back() << 8);
    return sum;
}

uint16_t fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

} // namespace

PacketSocket::PacketSocket(const std::string& netns_path, const std::string& ifname,
                           bool qdisc_bypass) {
    Lab::run_in_netns(netns_path, [&] {
        // Protocol 0: a send-only socket that receives nothing.
        fd_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
        if (!fd_.valid())
            throw_errno("packet socket in " + netns_path);
        const unsigned index = ::if_nametoindex(ifname.c_str());
        if (index == 0)
            throw_errno("no interface " + ifname + " in " + netns_path);
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_ifindex = static_cast<int>(index);
        if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
            throw_errno("bind packet socket to " + ifname);
    });
    const int one = 1;
    if (qdisc_bypass &&
        ::setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
        throw_errno("PACKET_QDISC_BYPASS");
}

bool PacketSocket::send(std::span<const uint8_t> frame) const {
    if (::send(fd_.get(), frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()))
        return true;
    if (errno == ENOBUFS) // NET_XMIT_DROP from the qdisc layer, e.g. TC egress said drop
        return false;
    throw_errno("send a " + std::to_string(frame.size()) + "-byte frame");
}

MacAddress multicast_mac(const Address& group) {
    if (group.family() == AF_INET)
        return {0x01,           0x00,          0x5e, static_cast<uint8_t>(group.bytes[1] & 0x7f),
                group.bytes[2], group.bytes[3]};
    return {0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]};
}

std::vector<uint8_t> arp_frame(uint16_t op, const MacAddress& eth_src, const MacAddress& eth_dst,
                               const MacAddress& sender_mac, const Address& sender_ip,
                               const MacAddress& target_mac, const Address& target_ip) {
    if (sender_ip.family() != AF_INET || target_ip.family() != AF_INET)
        throw std::invalid_argument("arp_frame: IPv4 addresses only");
    std::vector<uint8_t> out;
    ethernet(out, eth_src, eth_dst, ETH_P_ARP);
    put16(out, 1); // Ethernet
    put16(out, ETH_P_IP);
    out.push_back(6);
    out.push_back(4);
    put16(out, op);
    put(out, sender_mac);
    put(out, std::span(sender_ip.bytes).first(4));
    put(out, target_mac);
    put(out, std::span(target_ip.bytes).first(4));
    return out;
}

std::vector<uint8_t> icmpv6_frame(const MacAddress& eth_src, const MacAddress& eth_dst,
                                  const Address& src, const Address& dst, uint8_t type,
                                  uint8_t code, std::span<const uint8_t> body) {
    if (src.family() != AF_INET6 || dst.family() != AF_INET6)
        throw std::invalid_argument("icmpv6_frame: IPv6 addresses only");
    const auto length = static_cast<uint16_t>(4 + body.size());
    std::vector<uint8_t> out;
    ethernet(out, eth_src, eth_dst, ETH_P_IPV6);
    out.insert(out.end(), {0x60, 0, 0, 0});
    put16(out, length);
    out.push_back(IPPROTO_ICMPV6);
    out.push_back(255);
    put(out, src.bytes);
    put(out, dst.bytes);
    const size_t icmp_at = out.size();
    out.insert(out.end(), {type, code, 0, 0});
    put(out, body);
    // Pseudo-header: addresses, upper-layer length, next header.
    uint32_t sum = sum16(src.bytes) + sum16(dst.bytes) + length + IPPROTO_ICMPV6;
    const uint16_t checksum = fold(sum16(std::span(out).subspan(icmp_at), sum));
    out[icmp_at + 2] = static_cast<uint8_t>(checksum >> 8);
    out[icmp_at + 3] = static_cast<uint8_t>(checksum & 0xff);
    return out;
}

std::vector<uint8_t> neighbour_advert(const MacAddress& eth_src, const MacAddress& eth_dst,
                                      const Address& src, const Address& dst, const Address& target,
                                      const MacAddress& target_mac) {
    std::vector<uint8_t> body{0x20, 0, 0, 0}; // override
    put(body, target.bytes);
    body.insert(body.end(), {2, 1}); // target link-layer address option, 8 bytes
    put(body, target_mac);
    return icmpv6_frame(eth_src, eth_dst, src, dst, 136, 0, body);
}

std::vector<uint8_t> router_advert(const MacAddress& eth_src, const Address& src,
                                   const Address& prefix) {
    const Address all_nodes = Address::v6("ff02::1");
    std::vector<uint8_t> body{64, 0};          // current hop limit, no flags
    put16(body, 1800);                         // router lifetime: a default router
    body.insert(body.end(), 8, 0);             // reachable time, retransmit timer
    body.insert(body.end(), {3, 4, 64, 0xc0}); // prefix information, /64, on-link + autonomous
    body.insert(body.end(), {0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0, 0, 0}); // lifetimes
    put(body, prefix.bytes);
    body.insert(body.end(), {1, 1}); // source link-layer address option
    put(body, eth_src);
    return icmpv6_frame(eth_src, multicast_mac(all_nodes), src, all_nodes, 134, 0, body);
}

void set_icmp_word(std::vector<uint8_t>& frame, size_t l4_offset,
                   std::span<const uint8_t, 4> word) {
    if (frame.size() < l4_offset + 8)
        throw std::invalid_argument("set_icmp_word: frame too short");
    std::copy(word.begin(), word.end(), frame.begin() + static_cast<long>(l4_offset) + 4);
    frame[l4_offset + 2] = 0;
    frame[l4_offset + 3] = 0;
    const uint16_t checksum = fold(sum16(std::span(frame).subspan(l4_offset)));
    frame[l4_offset + 2] = static_cast<uint8_t>(checksum >> 8);
    frame[l4_offset + 3] = static_cast<uint8_t>(checksum & 0xff);
}

} // namespace flowwall::testing
