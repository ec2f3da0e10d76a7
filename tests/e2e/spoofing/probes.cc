// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/spoofing/probes.h"

#include "tests/e2e/spoofing/spoofing_scene.h"
#include "tests/support/packet_socket.h"
#include "tests/support/traffic.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace flowwall::testing {

using std::chrono::milliseconds;

UdpClient::UdpClient(const Workload& from, const Address& to, uint16_t port) {
    Lab::run_in_netns(from.netns_path,
                      [&] { fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(port);
    std::memcpy(&peer.sin_addr, to.bytes.data(), 4);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&peer), sizeof(peer)) != 0)
        throw std::runtime_error("connect the UDP client");
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&local), &length);
    port_ = ntohs(local.sin_port);
}

void UdpClient::send(const std::string& text) const {
    ::send(fd_.get(), text.data(), text.size(), 0);
}

bool UdpClient::receives(const std::string& text, milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd readable{fd_.get(), POLLIN, 0};
        if (::poll(&readable, 1, 10) != 1)
            continue;
        char buffer[256];
        const ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
        if (n > 0 && std::string(buffer, static_cast<size_t>(n)) == text)
            return true;
    }
    return false;
}

IcmpWatcher::IcmpWatcher(const Workload& in) {
    Lab::run_in_netns(in.netns_path, [&] {
        fd_.reset(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP));
    });
    if (!fd_.valid())
        throw std::runtime_error("raw ICMP socket");
}

bool IcmpWatcher::sees(const std::string& marker, milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd readable{fd_.get(), POLLIN, 0};
        if (::poll(&readable, 1, 10) != 1)
            continue;
        char buffer[2048];
        const ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
        if (n > 0 && std::string(buffer, static_cast<size_t>(n)).find(marker) != std::string::npos)
            return true;
    }
    return false;
}

std::vector<uint8_t> l3_bytes(const PacketBuilder& packet, size_t length) {
    auto frame = packet.build();
    auto from = frame.begin() + static_cast<long>(packet.l3_offset());
    return {from, from + static_cast<long>(std::min(length, frame.size() - packet.l3_offset()))};
}

void set_sysctl(const Workload& w, const std::string& key, const std::string& value) {
    ExecResult set = Lab::exec("", {"nsenter", "--net=" + w.netns_path, "sh", "-c",
                                    "echo " + value + " > /proc/sys/net/" + key});
    if (!set.ok())
        throw std::runtime_error("sysctl " + key + ": " + set.err);
}

bool poll_output(const Workload& w, const std::vector<std::string>& args, const std::string& wanted,
                 milliseconds timeout) {
    return eventually([&] { return ip_output(w, args).find(wanted) != std::string::npos; },
                      timeout);
}

bool path_mtu_error_reaches(const Workload& client, const Workload& server, uint16_t port) {
    UdpClient udp(client, server.v4, port);
    udp.send("query");
    if (!udp.receives("query", kAllowTimeout))
        throw std::runtime_error("the real flow the error is about did not pass");
    const PacketSocket from_server(server.netns_path, server.ifname);
    const std::string query = "query";
    auto packet =
        PacketBuilder::icmp(server.v4, client.v4, 3, 4)
            .macs(server.mac, client.mac)
            .payload(l3_bytes(PacketBuilder::udp(client.v4, udp.port(), server.v4, port)
                                  .payload(std::vector<uint8_t>(query.begin(), query.end())),
                              33));
    auto frame = packet.build();
    const uint8_t mtu_1280[4] = {0, 0, 0x05, 0x00};
    set_icmp_word(frame, packet.l4_offset(), std::span<const uint8_t, 4>(mtu_1280));
    from_server.send(frame);
    return poll_output(client, {"route", "get", server.v4.str()}, "mtu 1280", milliseconds(1000));
}

} // namespace flowwall::testing
