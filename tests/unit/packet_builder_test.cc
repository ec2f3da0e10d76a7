// SPDX-License-Identifier: Apache-2.0
#include "tests/support/packet_builder.h"

#include <linux/if_ether.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace flowwall::testing {
namespace {

const Address kV4Src = Address::v4("198.18.1.1");
const Address kV4Dst = Address::v4("198.18.2.2");
const Address kV6Src = Address::v6("fd00::1");
const Address kV6Dst = Address::v6("fd00:0:0:2::2");

uint16_t be16(const std::vector<uint8_t>& frame, size_t offset) {
    return static_cast<uint16_t>(frame.at(offset) << 8 | frame.at(offset + 1));
}

// Deliberately written apart from the builder's checksum code (32-bit accumulator folded as it
// goes, odd byte padded by copying), so a shared mistake cannot make both agree.
uint32_t add_ones_complement(uint32_t sum, const std::vector<uint8_t>& bytes, size_t begin,
                             size_t end) {
    std::vector<uint8_t> even(bytes.begin() + static_cast<std::ptrdiff_t>(begin),
                              bytes.begin() + static_cast<std::ptrdiff_t>(end));
    if (even.size() % 2 != 0) {
        even.push_back(0);
    }
    for (size_t i = 0; i < even.size(); i += 2) {
        sum += static_cast<uint32_t>(even[i] << 8 | even[i + 1]);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

// A valid checksum makes the ones-complement sum over the covered bytes, checksum included,
// come to 0xffff. Reads the IP header fields by fixed offsets rather than through the parser.
void expect_checksums_valid(const std::vector<uint8_t>& frame, size_t l3, size_t l4,
                            uint8_t protocol) {
    const int version = frame.at(l3) >> 4;
    ASSERT_TRUE(version == 4 || version == 6) << "version " << version;
    if (version == 4) {
        const size_t header_len = (frame[l3] & 0x0f) * 4u;
        EXPECT_EQ(add_ones_complement(0, frame, l3, l3 + header_len), 0xffffu)
            << "IPv4 header checksum";
    }
    if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP && protocol != IPPROTO_ICMP &&
        protocol != IPPROTO_ICMPV6) {
        return;
    }

    uint32_t sum = 0;
    if (protocol != IPPROTO_ICMP) {
        const size_t src = version == 4 ? l3 + 12 : l3 + 8;
        const size_t addr_len = version == 4 ? 4 : 16;
        sum = add_ones_complement(sum, frame, src, src + 2 * addr_len); // source, destination
        std::vector<uint8_t> rest = {0, protocol};
        const size_t length = frame.size() - l4;
        rest.push_back(static_cast<uint8_t>(length >> 8));
        rest.push_back(static_cast<uint8_t>(length));
        sum = add_ones_complement(sum, rest, 0, rest.size());
    }
    sum = add_ones_complement(sum, frame, l4, frame.size());
    EXPECT_EQ(sum, 0xffffu) << "transport checksum, protocol " << int{protocol};
}

void expect_checksums_valid(const PacketBuilder& builder, uint8_t protocol) {
    expect_checksums_valid(builder.build(), builder.l3_offset(), builder.l4_offset(), protocol);
}

ParsedFrame parse_or_fail(const std::vector<uint8_t>& frame) {
    const auto parsed = parse_frame(frame);
    if (!parsed) {
        ADD_FAILURE() << "parse_frame rejected a " << frame.size() << "-byte frame";
        return {};
    }
    return *parsed;
}

void expect_invalid_argument(const std::function<void()>& action, const std::string& expected) {
    try {
        action();
        ADD_FAILURE() << "no std::invalid_argument; expected one mentioning \"" << expected << "\"";
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find(expected), std::string::npos)
            << "message \"" << error.what() << "\" does not mention \"" << expected << "\"";
    }
}

TEST(AddressTest, ParsesIpv4) {
    const Address address = Address::v4("198.18.0.10");
    EXPECT_EQ(address.family(), AF_INET);
    EXPECT_EQ(address.str(), "198.18.0.10");
    const std::array<uint8_t, 16> expected = {198, 18, 0, 10};
    EXPECT_EQ(address.bytes, expected);
}

TEST(AddressTest, ParsesIpv6) {
    const Address address = Address::v6("2001:db8::1");
    EXPECT_EQ(address.family(), AF_INET6);
    EXPECT_EQ(address.str(), "2001:db8::1");
    EXPECT_EQ(address.bytes[0], 0x20);
    EXPECT_EQ(address.bytes[1], 0x01);
    EXPECT_EQ(address.bytes[15], 0x01);
}

TEST(AddressTest, ComparesFamilyAndBytes) {
    EXPECT_EQ(Address::v4("198.18.0.1"), Address::v4("198.18.0.1"));
    EXPECT_NE(Address::v4("198.18.0.1"), Address::v4("198.18.0.2"));
    EXPECT_NE(Address::v4("0.0.0.0"), Address::v6("::"));
    EXPECT_NE(Address{}, Address::v4("0.0.0.0"));
    EXPECT_EQ(Address{}.family(), AF_UNSPEC);
}

TEST(AddressTest, FromBytesMatchesText) {
    const std::array<uint8_t, 4> v4 = {198, 18, 1, 1};
    EXPECT_EQ(Address::from_bytes(AF_INET, v4), kV4Src);
    EXPECT_EQ(Address::from_bytes(AF_INET6, std::span(kV6Src.bytes)), kV6Src);
    expect_invalid_argument([&] { Address::from_bytes(AF_INET6, v4); }, "4 bytes");
    expect_invalid_argument([&] { Address::from_bytes(AF_UNIX, v4); }, "family");
}

TEST(AddressTest, RejectsTextOfTheWrongShape) {
    expect_invalid_argument([] { Address::v4("nonsense"); }, "\"nonsense\" is not an IPv4");
    expect_invalid_argument([] { Address::v4("fd00::1"); }, "not an IPv4 address");
    expect_invalid_argument([] { Address::v4("198.18.0.256"); }, "not an IPv4 address");
    expect_invalid_argument([] { Address::v4(""); }, "not an IPv4 address");
    expect_invalid_argument([] { Address::v6("198.18.0.1"); }, "not an IPv6 address");
    expect_invalid_argument([] { Address::v6("fd00:::1"); }, "not an IPv6 address");
}

TEST(TcpFlagsTest, CombineIntoTheHeaderByte) {
    EXPECT_EQ(bits(TcpFlags::syn | TcpFlags::ack), TH_SYN | TH_ACK);
    EXPECT_EQ(bits(TcpFlags::fin | TcpFlags::psh | TcpFlags::urg), TH_FIN | TH_PUSH | TH_URG);
    EXPECT_EQ(bits(TcpFlags::rst), TH_RST);
}

TEST(PacketBuilderTest, TcpSynOverIpv4) {
    const auto builder = PacketBuilder::tcp(kV4Src, 40000, kV4Dst, 443, TcpFlags::syn);
    const auto frame = builder.build();

    ASSERT_EQ(frame.size(), 14u + 20 + 20);
    EXPECT_EQ(builder.size(), frame.size());
    EXPECT_EQ(builder.l3_offset(), 14u);
    EXPECT_EQ(builder.l4_offset(), 34u);
    EXPECT_EQ(be16(frame, 12), ETH_P_IP);
    EXPECT_EQ(frame[14], 0x45);        // version 4, IHL 5
    EXPECT_EQ(frame[34 + 12], 5 << 4); // data offset 5
    EXPECT_EQ(be16(frame, 34 + 14), 65535);

    const ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.ethertype, ETH_P_IP);
    EXPECT_EQ(parsed.family, AF_INET);
    EXPECT_EQ(parsed.src, kV4Src);
    EXPECT_EQ(parsed.dst, kV4Dst);
    EXPECT_EQ(parsed.protocol, IPPROTO_TCP);
    EXPECT_EQ(parsed.sport, 40000);
    EXPECT_EQ(parsed.dport, 443);
    EXPECT_EQ(parsed.tcp_flags, TH_SYN);
    EXPECT_EQ(parsed.ttl, 64);
    EXPECT_EQ(parsed.l3_offset, builder.l3_offset());
    EXPECT_EQ(parsed.l4_offset, builder.l4_offset());
    EXPECT_EQ(parsed.payload_length, 0u);
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(builder, IPPROTO_TCP);
}

TEST(PacketBuilderTest, TcpOverIpv6WithPayloadAndNetinetFlags) {
    const std::vector<uint8_t> data = {'h', 'e', 'l', 'l', 'o'};
    auto builder = PacketBuilder::tcp(kV6Src, 1234, kV6Dst, 80, TH_PUSH | TH_ACK);
    builder.payload(data);
    const auto frame = builder.build();

    ASSERT_EQ(frame.size(), 14u + 40 + 20 + data.size());
    EXPECT_EQ(be16(frame, 12), ETH_P_IPV6);
    EXPECT_EQ(frame[14] >> 4, 6);
    EXPECT_EQ(be16(frame, 14 + 4), 20 + data.size()); // payload length
    EXPECT_TRUE(std::equal(data.begin(), data.end(), frame.end() - 5));

    const ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.family, AF_INET6);
    EXPECT_EQ(parsed.src, kV6Src);
    EXPECT_EQ(parsed.dst, kV6Dst);
    EXPECT_EQ(parsed.protocol, IPPROTO_TCP);
    EXPECT_EQ(parsed.sport, 1234);
    EXPECT_EQ(parsed.dport, 80);
    EXPECT_EQ(parsed.tcp_flags, TH_PUSH | TH_ACK);
    EXPECT_EQ(parsed.payload_length, data.size());
    EXPECT_EQ(parsed.l4_offset, 54u);
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(builder, IPPROTO_TCP);
}

TEST(PacketBuilderTest, UdpOverBothFamilies) {
    for (const auto& [src, dst] : {std::pair{kV4Src, kV4Dst}, std::pair{kV6Src, kV6Dst}}) {
        SCOPED_TRACE(src.str());
        auto builder = PacketBuilder::udp(src, 5353, dst, 53);
        builder.payload_size(33); // odd, so the checksum pads a byte
        const auto frame = builder.build();

        EXPECT_EQ(be16(frame, builder.l4_offset() + 4), 8 + 33); // UDP length
        const ParsedFrame parsed = parse_or_fail(frame);
        EXPECT_EQ(parsed.family, src.family());
        EXPECT_EQ(parsed.src, src);
        EXPECT_EQ(parsed.dst, dst);
        EXPECT_EQ(parsed.protocol, IPPROTO_UDP);
        EXPECT_EQ(parsed.sport, 5353);
        EXPECT_EQ(parsed.dport, 53);
        EXPECT_EQ(parsed.payload_length, 33u);
        EXPECT_TRUE(parsed.checksums_ok);
        expect_checksums_valid(builder, IPPROTO_UDP);
    }
}

TEST(PacketBuilderTest, UdpChecksumThatSumsToZeroIsSentAsAllOnes) {
    // The checksum field of a two-byte-payload packet is the complement of everything else;
    // using it as the payload makes the computed checksum 0, which UDP must send as 0xffff.
    auto builder = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2);
    builder.payload_size(2);
    const uint16_t without = be16(builder.build(), builder.l4_offset() + 6);
    const std::vector<uint8_t> payload = {static_cast<uint8_t>(without >> 8),
                                          static_cast<uint8_t>(without)};
    builder.payload(payload);
    const auto frame = builder.build();

    EXPECT_EQ(be16(frame, builder.l4_offset() + 6), 0xffff);
    EXPECT_TRUE(parse_or_fail(frame).checksums_ok);
    expect_checksums_valid(builder, IPPROTO_UDP);
}

TEST(PacketBuilderTest, IcmpEchoRequestAndReply) {
    struct Case {
        Address src, dst;
        bool reply;
        uint8_t protocol, type;
    };
    const Case cases[] = {
        {kV4Src, kV4Dst, false, IPPROTO_ICMP, ICMP_ECHO},
        {kV4Src, kV4Dst, true, IPPROTO_ICMP, ICMP_ECHOREPLY},
        {kV6Src, kV6Dst, false, IPPROTO_ICMPV6, ICMP6_ECHO_REQUEST},
        {kV6Src, kV6Dst, true, IPPROTO_ICMPV6, ICMP6_ECHO_REPLY},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.src.str() + (c.reply ? " reply" : " request"));
        const auto builder = PacketBuilder::icmp_echo(c.src, c.dst, 0x4242, c.reply);
        const auto frame = builder.build();

        EXPECT_EQ(frame.size(), builder.l4_offset() + 8);
        const ParsedFrame parsed = parse_or_fail(frame);
        EXPECT_EQ(parsed.protocol, c.protocol);
        EXPECT_EQ(parsed.icmp_type, c.type);
        EXPECT_EQ(parsed.icmp_code, 0);
        EXPECT_EQ(parsed.icmp_echo_id, 0x4242);
        EXPECT_EQ(parsed.sport, 0);
        EXPECT_EQ(parsed.src, c.src);
        EXPECT_TRUE(parsed.checksums_ok);
        expect_checksums_valid(builder, c.protocol);
    }
}

TEST(PacketBuilderTest, IcmpErrorQuotingAnotherPacket) {
    const auto quoted = PacketBuilder::udp(kV4Dst, 53, kV4Src, 5353).build();
    auto builder = PacketBuilder::icmp(kV4Src, kV4Dst, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
    builder.payload(std::span(quoted).subspan(14));
    const auto frame = builder.build();

    EXPECT_EQ(frame.size(), 14u + 20 + 8 + (quoted.size() - 14));
    const ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.protocol, IPPROTO_ICMP);
    EXPECT_EQ(parsed.icmp_type, ICMP_DEST_UNREACH);
    EXPECT_EQ(parsed.icmp_code, ICMP_PORT_UNREACH);
    EXPECT_EQ(parsed.icmp_echo_id, 0); // not an echo
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(builder, IPPROTO_ICMP);
}

TEST(PacketBuilderTest, Icmpv6ByTypeAndCode) {
    const auto builder =
        PacketBuilder::icmp(kV6Src, kV6Dst, ND_NEIGHBOR_SOLICIT, 0).payload_size(16);
    const ParsedFrame parsed = parse_or_fail(builder.build());
    EXPECT_EQ(parsed.protocol, IPPROTO_ICMPV6);
    EXPECT_EQ(parsed.icmp_type, ND_NEIGHBOR_SOLICIT);
    EXPECT_EQ(parsed.payload_length, 16u);
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(builder, IPPROTO_ICMPV6);
}

TEST(PacketBuilderTest, OtherIpProtocolsCarryAnOpaquePayload) {
    const auto sctp = PacketBuilder::ip_proto(kV4Src, kV4Dst, IPPROTO_SCTP);
    EXPECT_EQ(sctp.build().size(), 14u + 20 + 8);
    ParsedFrame parsed = parse_or_fail(sctp.build());
    EXPECT_EQ(parsed.protocol, IPPROTO_SCTP);
    EXPECT_EQ(parsed.sport, 0);
    EXPECT_EQ(parsed.dport, 0);
    EXPECT_EQ(parsed.payload_length, 8u);
    EXPECT_EQ(parsed.l4_offset, sctp.l4_offset());
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(sctp, IPPROTO_SCTP);

    const auto gre = PacketBuilder::ip_proto(kV6Src, kV6Dst, IPPROTO_GRE, 4);
    EXPECT_EQ(gre.build().size(), 14u + 40 + 4);
    parsed = parse_or_fail(gre.build());
    EXPECT_EQ(parsed.family, AF_INET6);
    EXPECT_EQ(parsed.protocol, IPPROTO_GRE);
    EXPECT_EQ(parsed.payload_length, 4u);
}

TEST(PacketBuilderTest, ArpRequest) {
    const auto builder = PacketBuilder::arp();
    const auto frame = builder.build();

    ASSERT_EQ(frame.size(), 14u + 28);
    EXPECT_EQ(be16(frame, 12), ETH_P_ARP);
    EXPECT_TRUE(std::all_of(frame.begin(), frame.begin() + 6, [](uint8_t b) { return b == 0xff; }));
    EXPECT_EQ(be16(frame, 14), 1);        // Ethernet
    EXPECT_EQ(be16(frame, 16), ETH_P_IP); // protocol type
    EXPECT_EQ(be16(frame, 20), 1);        // request
    EXPECT_TRUE(std::equal(frame.begin() + 6, frame.begin() + 12, frame.begin() + 22))
        << "sender hardware address is the Ethernet source";
    EXPECT_EQ(builder.l3_offset(), 14u);

    const ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.ethertype, ETH_P_ARP);
    EXPECT_EQ(parsed.family, AF_UNSPEC);
    EXPECT_EQ(parsed.src, Address{});
    EXPECT_TRUE(parsed.checksums_ok);
}

TEST(PacketBuilderTest, AnyEthertype) {
    const auto frame = PacketBuilder::ethertype(ETH_P_LLDP, 10).build();
    ASSERT_EQ(frame.size(), 14u + 10);
    EXPECT_EQ(be16(frame, 12), ETH_P_LLDP);
    const ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.ethertype, ETH_P_LLDP);
    EXPECT_EQ(parsed.family, AF_UNSPEC);
}

TEST(PacketBuilderTest, Ipv4Options) {
    auto builder = PacketBuilder::tcp(kV4Src, 1000, kV4Dst, 22, TcpFlags::syn);
    builder.ipv4_options(12);
    const auto frame = builder.build();

    EXPECT_EQ(frame[14], 0x48); // IHL 8
    EXPECT_EQ(builder.l4_offset(), 14u + 32);
    EXPECT_EQ(frame.size(), 14u + 32 + 20);
    EXPECT_TRUE(std::all_of(frame.begin() + 34, frame.begin() + 46, [](uint8_t b) {
        return b == 1; // NOP
    }));
    const ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.l4_offset, builder.l4_offset());
    EXPECT_EQ(parsed.sport, 1000);
    EXPECT_EQ(parsed.dport, 22);
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(builder, IPPROTO_TCP);

    builder.ipv4_options(40);
    EXPECT_EQ(builder.build()[14], 0x4f); // the largest IHL
    expect_checksums_valid(builder, IPPROTO_TCP);
}

TEST(PacketBuilderTest, Ipv4Fragments) {
    auto first = PacketBuilder::udp(kV4Src, 1111, kV4Dst, 2222).payload_size(100);
    first.ipv4_fragment(0, true);
    auto frame = first.build();
    EXPECT_EQ(be16(frame, 14 + 6), 0x2000); // MF, offset 0
    ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.fragment_offset, 0);
    EXPECT_TRUE(parsed.more_fragments);
    EXPECT_EQ(parsed.sport, 1111) << "a first fragment carries the ports";
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(first, IPPROTO_UDP);

    auto last = PacketBuilder::udp(kV4Src, 1111, kV4Dst, 2222).payload_size(100);
    last.ipv4_fragment(1480, false);
    frame = last.build();
    EXPECT_EQ(be16(frame, 14 + 6), 1480 / 8);
    EXPECT_EQ(be16(frame, last.l4_offset()), 1111) << "the bytes are laid out all the same";
    parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.fragment_offset, 1480);
    EXPECT_FALSE(parsed.more_fragments);
    EXPECT_EQ(parsed.protocol, IPPROTO_UDP);
    EXPECT_EQ(parsed.sport, 0) << "a later fragment has no transport header";
    EXPECT_EQ(parsed.payload_length, 8u + 100);
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(last, IPPROTO_UDP);
}

TEST(PacketBuilderTest, Ipv6ExtensionChainKeepsItsOrder) {
    auto builder = PacketBuilder::tcp(kV6Src, 4000, kV6Dst, 8080, TcpFlags::syn);
    builder.ipv6_extension(IPPROTO_HOPOPTS)
        .ipv6_extension(IPPROTO_ROUTING)
        .ipv6_extension(IPPROTO_FRAGMENT)
        .ipv6_extension(IPPROTO_AH)
        .ipv6_extension(IPPROTO_DSTOPTS);
    const auto frame = builder.build();

    const size_t l3 = 14;
    EXPECT_EQ(builder.l4_offset(), l3 + 40 + 8 + 8 + 8 + 24 + 8);
    EXPECT_EQ(frame.size(), builder.l4_offset() + 20);
    EXPECT_EQ(be16(frame, l3 + 4), frame.size() - l3 - 40);
    // Each header names the next one.
    EXPECT_EQ(frame[l3 + 6], IPPROTO_HOPOPTS);
    EXPECT_EQ(frame[l3 + 40], IPPROTO_ROUTING);
    EXPECT_EQ(frame[l3 + 48], IPPROTO_FRAGMENT);
    EXPECT_EQ(frame[l3 + 56], IPPROTO_AH);
    EXPECT_EQ(frame[l3 + 64], IPPROTO_DSTOPTS);
    EXPECT_EQ(frame[l3 + 65], 4); // AH length: 24 bytes in 4-byte units, minus 2
    EXPECT_EQ(frame[l3 + 88], IPPROTO_TCP);

    const ParsedFrame parsed = parse_or_fail(frame);
    const std::vector<uint8_t> expected = {IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT,
                                           IPPROTO_AH, IPPROTO_DSTOPTS};
    EXPECT_EQ(parsed.ipv6_extensions, expected);
    EXPECT_EQ(parsed.protocol, IPPROTO_TCP);
    EXPECT_EQ(parsed.l4_offset, builder.l4_offset());
    EXPECT_EQ(parsed.sport, 4000);
    EXPECT_EQ(parsed.dport, 8080);
    EXPECT_EQ(parsed.fragment_offset, 0);
    EXPECT_FALSE(parsed.more_fragments);
    EXPECT_TRUE(parsed.checksums_ok);
    expect_checksums_valid(builder, IPPROTO_TCP);
}

TEST(PacketBuilderTest, Ipv6Fragments) {
    auto first = PacketBuilder::udp(kV6Src, 7, kV6Dst, 9);
    first.ipv6_extension(IPPROTO_FRAGMENT, 0, true);
    ParsedFrame parsed = parse_or_fail(first.build());
    EXPECT_TRUE(parsed.more_fragments);
    EXPECT_EQ(parsed.dport, 9);
    expect_checksums_valid(first, IPPROTO_UDP);

    auto later = PacketBuilder::udp(kV6Src, 7, kV6Dst, 9);
    later.ipv6_extension(IPPROTO_FRAGMENT, 2048, true);
    const auto frame = later.build();
    EXPECT_EQ(be16(frame, 14 + 40 + 2), 2048 | 1); // offset in place, M flag in bit 0
    parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.fragment_offset, 2048);
    EXPECT_TRUE(parsed.more_fragments);
    EXPECT_EQ(parsed.protocol, IPPROTO_UDP);
    EXPECT_EQ(parsed.dport, 0);
}

TEST(PacketBuilderTest, LongExtensionChains) {
    // Longer than any bounded walk a datapath parser is likely to allow.
    auto builder = PacketBuilder::udp(kV6Src, 1, kV6Dst, 2);
    for (int i = 0; i < 10; ++i) {
        builder.ipv6_extension(IPPROTO_DSTOPTS);
    }
    const ParsedFrame parsed = parse_or_fail(builder.build());
    EXPECT_EQ(parsed.ipv6_extensions.size(), 10u);
    EXPECT_EQ(parsed.dport, 2);
    expect_checksums_valid(builder, IPPROTO_UDP);
}

TEST(PacketBuilderTest, VlanTags) {
    auto builder = PacketBuilder::tcp(kV4Src, 1, kV4Dst, 2, TcpFlags::syn);
    builder.vlan(100);
    auto frame = builder.build();
    EXPECT_EQ(be16(frame, 12), ETH_P_8021Q);
    EXPECT_EQ(be16(frame, 14), 100);
    EXPECT_EQ(be16(frame, 16), ETH_P_IP);
    EXPECT_EQ(builder.l3_offset(), 18u);
    ParsedFrame parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.vlan_ids, std::vector<uint16_t>{100});
    EXPECT_EQ(parsed.ethertype, ETH_P_IP);
    EXPECT_EQ(parsed.l3_offset, 18u);
    EXPECT_EQ(parsed.dport, 2);
    expect_checksums_valid(builder, IPPROTO_TCP);

    builder.vlan(4095);
    frame = builder.build();
    EXPECT_EQ(builder.l3_offset(), 22u);
    EXPECT_EQ(be16(frame, 16), ETH_P_8021Q);
    EXPECT_EQ(be16(frame, 18), 4095);
    EXPECT_EQ(be16(frame, 20), ETH_P_IP);
    parsed = parse_or_fail(frame);
    EXPECT_EQ(parsed.vlan_ids, (std::vector<uint16_t>{100, 4095}));
    EXPECT_EQ(parsed.src, kV4Src);

    const auto arp = PacketBuilder::arp().vlan(7).build();
    EXPECT_EQ(parse_or_fail(arp).ethertype, ETH_P_ARP);
    EXPECT_EQ(arp.size(), 14u + 4 + 28);
}

TEST(PacketBuilderTest, TtlAndHopLimit) {
    const auto v4 = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2).ttl(1);
    EXPECT_EQ(v4.build()[14 + 8], 1);
    EXPECT_EQ(parse_or_fail(v4.build()).ttl, 1);
    expect_checksums_valid(v4, IPPROTO_UDP);

    const auto v6 = PacketBuilder::udp(kV6Src, 1, kV6Dst, 2).ttl(255);
    EXPECT_EQ(v6.build()[14 + 7], 255);
    EXPECT_EQ(parse_or_fail(v6.build()).ttl, 255);
}

TEST(PacketBuilderTest, Macs) {
    const auto defaults = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2).build();
    EXPECT_EQ(defaults[0] & 0x03, 0x02) << "default destination is locally administered unicast";
    EXPECT_EQ(defaults[6] & 0x03, 0x02) << "default source is locally administered unicast";

    const MacAddress src = {0x0a, 1, 2, 3, 4, 5};
    const MacAddress dst = {0x0e, 6, 7, 8, 9, 10};
    const auto frame = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2).macs(src, dst).build();
    EXPECT_TRUE(std::equal(dst.begin(), dst.end(), frame.begin()));
    EXPECT_TRUE(std::equal(src.begin(), src.end(), frame.begin() + 6));
}

TEST(PacketBuilderTest, BuildersAreValues) {
    const auto base = PacketBuilder::tcp(kV4Src, 1, kV4Dst, 2, TcpFlags::syn);
    auto tagged = base;
    tagged.vlan(5).ttl(9).payload_size(3);
    EXPECT_EQ(base.build().size(), 54u);
    EXPECT_EQ(tagged.build().size(), 54u + 4 + 3);
    EXPECT_EQ(base.build(), base.build()) << "frames are reproducible";
}

TEST(PacketBuilderTest, TruncatedFramesArePrefixes) {
    auto builder = PacketBuilder::tcp(kV4Src, 1, kV4Dst, 2, TcpFlags::syn).payload_size(5);
    const auto full = builder.build();
    for (size_t length = 0; length <= full.size(); ++length) {
        const auto cut = builder.build_truncated(length);
        ASSERT_EQ(cut.size(), length);
        EXPECT_TRUE(std::equal(cut.begin(), cut.end(), full.begin()));
    }
    expect_invalid_argument([&] { builder.build_truncated(full.size() + 1); }, "only 59");
}

TEST(PacketBuilderTest, ParserRejectsEveryCutOfAnIpFrame) {
    auto v4 = PacketBuilder::tcp(kV4Src, 1, kV4Dst, 2, TcpFlags::syn).ipv4_options(8);
    auto v6 = PacketBuilder::udp(kV6Src, 1, kV6Dst, 2).payload_size(3);
    v6.vlan(1).ipv6_extension(IPPROTO_HOPOPTS).ipv6_extension(IPPROTO_AH);
    const auto icmp = PacketBuilder::icmp_echo(kV4Src, kV4Dst, 1);
    for (const PacketBuilder* builder : {&std::as_const(v4), &std::as_const(v6), &icmp}) {
        const size_t size = builder->build().size();
        for (size_t length = 0; length < size; ++length) {
            EXPECT_FALSE(parse_frame(builder->build_truncated(length)))
                << "cut at " << length << " of " << size;
        }
        EXPECT_TRUE(parse_frame(builder->build()));
    }
}

TEST(PacketBuilderTest, CutsAtHeaderBoundaries) {
    const auto builder = PacketBuilder::tcp(kV6Src, 1, kV6Dst, 2, TcpFlags::syn)
                             .vlan(3)
                             .ipv6_extension(IPPROTO_DSTOPTS);
    EXPECT_EQ(builder.build_truncated(builder.l3_offset()).size(), 18u);
    const auto no_transport = builder.build_truncated(builder.l4_offset());
    EXPECT_EQ(no_transport.size(), 18u + 40 + 8);
    EXPECT_EQ(no_transport[no_transport.size() - 8], IPPROTO_TCP)
        << "the cut falls right after the extension header that names TCP";
}

TEST(PacketBuilderTest, ParserReportsBadChecksums) {
    const auto builder = PacketBuilder::tcp(kV4Src, 1, kV4Dst, 2, TcpFlags::syn).payload_size(4);

    auto frame = builder.build();
    frame.back() ^= 0x01;
    EXPECT_FALSE(parse_or_fail(frame).checksums_ok) << "payload byte";

    frame = builder.build();
    frame[14 + 8] -= 1; // TTL, as a router would without fixing the checksum
    EXPECT_FALSE(parse_or_fail(frame).checksums_ok) << "IPv4 header";

    const auto v6 = PacketBuilder::icmp_echo(kV6Src, kV6Dst, 1);
    frame = v6.build();
    frame[14 + 8 + 15] ^= 0x01; // source address: covered only through the pseudo-header
    EXPECT_FALSE(parse_or_fail(frame).checksums_ok) << "ICMPv6 pseudo-header";
}

TEST(PacketBuilderTest, ParserRejectsContradictoryHeaders) {
    auto frame = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2).build();
    frame[14] = 0x44; // IHL 4
    EXPECT_FALSE(parse_frame(frame));

    frame = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2).build();
    frame[14] = 0x65; // IPv6 version under the IPv4 ethertype
    EXPECT_FALSE(parse_frame(frame));

    frame = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2).build();
    frame.push_back(0); // Ethernet padding beyond the IP total length is fine
    EXPECT_TRUE(parse_frame(frame));
}

TEST(PacketBuilderTest, RejectsMisuse) {
    expect_invalid_argument([] { PacketBuilder::tcp(kV4Src, 1, kV6Dst, 2, TcpFlags::syn); },
                            "different families");
    expect_invalid_argument([] { PacketBuilder::udp(Address{}, 1, kV4Dst, 2); },
                            "source and a destination");

    auto v4 = PacketBuilder::udp(kV4Src, 1, kV4Dst, 2);
    expect_invalid_argument([&] { v4.ipv4_options(3); }, "3 bytes is not a multiple of 4");
    expect_invalid_argument([&] { v4.ipv4_options(44); }, "more than the 40");
    expect_invalid_argument([&] { v4.ipv4_fragment(100, false); }, "not a multiple of 8");
    expect_invalid_argument([&] { v4.ipv6_extension(IPPROTO_HOPOPTS); }, "packet is IPv4");
    expect_invalid_argument([&] { v4.vlan(4096); }, "12-bit");
    expect_invalid_argument([&] { v4.payload_size(70000).build(); }, "more than 65535");

    auto v6 = PacketBuilder::udp(kV6Src, 1, kV6Dst, 2);
    expect_invalid_argument([&] { v6.ipv4_options(4); }, "packet is IPv6");
    expect_invalid_argument([&] { v6.ipv4_fragment(8, true); }, "packet is IPv6");
    expect_invalid_argument([&] { v6.ipv6_extension(IPPROTO_TCP); }, "next header 6");
    expect_invalid_argument([&] { v6.ipv6_extension(IPPROTO_ROUTING, 8); }, "IPPROTO_FRAGMENT");
    expect_invalid_argument([&] { v6.ipv6_extension(IPPROTO_FRAGMENT, 12); }, "multiple of 8");

    auto arp = PacketBuilder::arp();
    expect_invalid_argument([&] { arp.payload_size(4); }, "fixed body");
    expect_invalid_argument([&] { arp.ttl(3); }, "not an IP packet");
    expect_invalid_argument([&] { arp.l4_offset(); }, "not an IP packet");
}

} // namespace
} // namespace flowwall::testing
