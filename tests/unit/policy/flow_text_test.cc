// SPDX-License-Identifier: Apache-2.0
#include "src/policy/flow_text.h"

#include <ctime>
#include <random>

#include <gtest/gtest.h>

namespace flowwall::policy {
namespace {

using std::chrono::seconds;

TimePoint at(int64_t unix_seconds) {
    return TimePoint(seconds(unix_seconds));
}

FlowKey flow_of(std::string_view src, std::string_view dst, std::string_view port_proto) {
    auto flow = parse_flow(src, dst, port_proto);
    EXPECT_TRUE(flow.ok()) << (flow.ok() ? "" : flow.error().message);
    return flow.ok() ? flow.value() : FlowKey{};
}

TEST(ParseFlow, TakesPortSlashProtocol) {
    EXPECT_EQ(flow_of("web", "db", "3306/tcp"), (FlowKey{"web", "db", 3306, kProtocolTcp}));
    EXPECT_EQ(flow_of("web", "dns", "53/udp"), (FlowKey{"web", "dns", 53, kProtocolUdp}));
    EXPECT_EQ(flow_of("a", "b", "1/TCP"), (FlowKey{"a", "b", 1, kProtocolTcp}));
    EXPECT_EQ(flow_of("a", "b", "65535/6"), (FlowKey{"a", "b", 65535, kProtocolTcp}));
    EXPECT_EQ(flow_of("registry.local:5000/team/web", "world", "443/tcp"),
              (FlowKey{"registry.local:5000/team/web", "world", 443, kProtocolTcp}));
}

TEST(ParseFlow, TakesProtocolsWithoutPortsAlone) {
    EXPECT_EQ(flow_of("web", "db", "icmp"), (FlowKey{"web", "db", 0, kProtocolIcmp}));
    EXPECT_EQ(flow_of("web", "db", "icmpv6"), (FlowKey{"web", "db", 0, kProtocolIcmpv6}));
    EXPECT_EQ(flow_of("web", "db", "0/47"), (FlowKey{"web", "db", 0, 47}));
    EXPECT_EQ(flow_of("web", "db", "0/icmp"), (FlowKey{"web", "db", 0, kProtocolIcmp}));
}

TEST(ParseFlow, RefusesBadFormsWithOneLineSayingWhatIsExpected) {
    struct Case {
        std::string src, dst, port_proto, says;
    };
    const Case cases[] = {
        {"web", "db", "", "missing"},
        {"web", "db", "3306", "protocol is missing"},
        {"web", "db", "47", "protocol is missing"},
        {"web", "db", "0/tcp", "port \"0\""},
        {"web", "db", "tcp", "tcp needs a port"},
        {"web", "db", "udp", "udp needs a port"},
        {"web", "db", "0/tcp", "port \"0\""},
        {"web", "db", "65536/tcp", "port \"65536\""},
        {"web", "db", "99999999999999999999999/tcp", "port"},
        {"web", "db", "-1/tcp", "port \"-1\""},
        {"web", "db", "/tcp", "port \"\""},
        {"web", "db", "80/", "unknown protocol \"\""},
        {"web", "db", "80/tcpx", "unknown protocol \"tcpx\""},
        {"web", "db", "80/256", "unknown protocol \"256\""},
        {"web", "db", "tcp/80", "port last"},
        {"web", "db", "80/icmp", "icmp has no ports"},
        {"web", "db", "80/tcp/1", "unknown protocol"},
        {"web", "db", "3306 /tcp", "port"},
        {"-web", "db", "80/tcp", "source"},
        {"", "db", "80/tcp", "source"},
        {"web", "d b", "80/tcp", "destination"},
        {"web", "db\nX", "80/tcp", "destination"},
    };
    for (const auto& c : cases) {
        auto flow = parse_flow(c.src, c.dst, c.port_proto);
        ASSERT_FALSE(flow.ok()) << c.src << " " << c.dst << " " << c.port_proto;
        const auto& message = flow.error().message;
        EXPECT_NE(message.find(c.says), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
        if (c.says.find("port") != std::string::npos ||
            c.says.find("protocol") != std::string::npos) {
            EXPECT_NE(message.find("PORT/PROTO, e.g. 3306/tcp"), std::string::npos) << message;
        }
    }
}

TEST(ParseFlow, TextFormsRoundTrip) {
    for (const auto& flow :
         {FlowKey{"web", "db", 3306, kProtocolTcp}, FlowKey{"a", "b", 0, kProtocolIcmp},
          FlowKey{"a", "b", 0, 47}, FlowKey{"a", "b", 5353, kProtocolUdp}}) {
        EXPECT_EQ(flow_of(flow.src, flow.dst, port_proto_string(flow)), flow);
    }
    EXPECT_EQ(flow_string(FlowKey{"web", "db", 3306, kProtocolTcp}), "web db 3306/tcp");
    EXPECT_EQ(flow_string(FlowKey{"web", "db", 0, kProtocolIcmp}), "web db icmp");
    EXPECT_EQ(flow_string(FlowKey{"web", "db", 0, 47}), "web db 0/47");
}

TEST(Protocol, NamesAndNumbers) {
    EXPECT_STREQ(protocol_name(6), "tcp");
    EXPECT_STREQ(protocol_name(17), "udp");
    EXPECT_STREQ(protocol_name(1), "icmp");
    EXPECT_STREQ(protocol_name(58), "icmpv6");
    EXPECT_STREQ(protocol_name(47), "47");
    EXPECT_STREQ(protocol_name(0), "0");
    EXPECT_STREQ(protocol_name(255), "255");
    EXPECT_EQ(protocol_string(132), "132");
    for (int p = 0; p <= 255; ++p) {
        auto parsed = parse_protocol(protocol_name(static_cast<uint8_t>(p)));
        ASSERT_TRUE(parsed.ok()) << p;
        EXPECT_EQ(parsed.value(), p);
    }
    EXPECT_EQ(parse_protocol("ICMPv6").value(), kProtocolIcmpv6);
    EXPECT_EQ(parse_protocol("006").value(), kProtocolTcp);
    for (std::string_view bad : {"", "256", "-1", "+6", " 6", "tcp ", "0x6", "tcpv6", "1000"}) {
        auto parsed = parse_protocol(bad);
        ASSERT_FALSE(parsed.ok()) << bad;
        EXPECT_NE(parsed.error().message.find("tcp, udp, icmp, icmpv6"), std::string::npos);
    }
    EXPECT_TRUE(protocol_has_ports(kProtocolTcp));
    EXPECT_TRUE(protocol_has_ports(kProtocolUdp));
    EXPECT_FALSE(protocol_has_ports(kProtocolIcmp));
    EXPECT_FALSE(protocol_has_ports(132));
}

TEST(ValidateFlowKey, NamesAndPorts) {
    EXPECT_TRUE(validate_flow_key({"web", "db", 3306, kProtocolTcp}).ok());
    EXPECT_TRUE(validate_flow_key({"web", "db", 0, kProtocolTcp}).ok()); // SYN to port 0
    auto icmp_port = validate_flow_key({"web", "db", 8, kProtocolIcmp});
    ASSERT_FALSE(icmp_port.ok());
    EXPECT_EQ(icmp_port.error().message.rfind("port:", 0), 0u) << icmp_port.error().message;
    EXPECT_EQ(validate_flow_key({"", "db", 1, kProtocolTcp}).error().message.rfind("src:", 0), 0u);
    EXPECT_EQ(validate_flow_key({"a", "-", 1, kProtocolTcp}).error().message.rfind("dst:", 0), 0u);
}

TEST(Labels, ValidateAndSanitize) {
    EXPECT_TRUE(validate_label("web-1").ok());
    EXPECT_TRUE(validate_label("node.example.com").ok());
    EXPECT_FALSE(validate_label("").ok());
    EXPECT_FALSE(validate_label("a b").ok());
    EXPECT_FALSE(validate_label("a\tb").ok());
    EXPECT_FALSE(validate_label("caf\xc3\xa9").ok());
    EXPECT_FALSE(validate_label(std::string(254, 'a')).ok());
    EXPECT_TRUE(validate_label(std::string(253, 'a')).ok());

    EXPECT_EQ(sanitize_label("a b\n\xff"), "a_b__");
    EXPECT_EQ(sanitize_label(std::string(300, 'x')).size(), 253u);
    EXPECT_EQ(sanitize_label(""), "");
    for (std::string_view raw : {"a b", "\x01", "\xc3\xa9", "ok"})
        EXPECT_TRUE(validate_label(sanitize_label(raw)).ok()) << raw;
}

TEST(Time, FormatsRfc3339Utc) {
    EXPECT_EQ(format_time(at(0)), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_time(at(1795370400)), "2026-11-22T18:00:00Z");
    EXPECT_EQ(format_time(at(1709251199)), "2024-02-29T23:59:59Z");
    EXPECT_EQ(format_time(at(9214646399)), "2261-12-31T23:59:59Z");
    // Out of range clamps rather than writing something the reader refuses.
    EXPECT_EQ(format_time(at(-5)), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_time(at(9214646400)), "2261-12-31T23:59:59Z");
    EXPECT_EQ(format_time(TimePoint::max()), "2261-12-31T23:59:59Z");
    EXPECT_EQ(format_time(TimePoint::min()), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_time(at(1795370400) + std::chrono::milliseconds(999)), "2026-11-22T18:00:00Z");
}

TEST(Time, AgreesWithGmtimeAndRoundTrips) {
    std::mt19937_64 random(42);
    std::uniform_int_distribution<int64_t> any(0, 9214646399);
    for (int i = 0; i < 20000; ++i) {
        int64_t value = i < 1000 ? i * 86399 : any(random);
        auto text = format_time(at(value));
        time_t t = static_cast<time_t>(value);
        struct tm utc {};
        ::gmtime_r(&t, &utc);
        char expected[32];
        std::strftime(expected, sizeof(expected), "%Y-%m-%dT%H:%M:%SZ", &utc);
        ASSERT_EQ(text, expected) << value;
        auto parsed = parse_time(text);
        ASSERT_TRUE(parsed.ok()) << text;
        ASSERT_EQ(parsed.value(), at(value)) << text;
    }
}

TEST(Time, AcceptsFractionsAndLowerCase) {
    EXPECT_EQ(parse_time("2026-11-22T18:00:00.999999999Z").value(), at(1795370400));
    EXPECT_EQ(parse_time("2026-11-22T18:00:00.5Z").value(), at(1795370400));
    EXPECT_EQ(parse_time("2026-11-22t18:00:00z").value(), at(1795370400));
    EXPECT_EQ(parse_time("2000-02-29T00:00:00Z").value(), at(951782400));
}

TEST(Time, RefusesWhatIsNotAUtcTime) {
    for (std::string_view bad : {"",
                                 "2026",
                                 "2026-11-22",
                                 "2026-11-22T18:00:00",
                                 "2026-11-22T18:00:00+00:00",
                                 "2026-11-22T18:00:00+02:00",
                                 "2026-11-22 18:00:00Z",
                                 "2026-11-22T18:00:00.Z",
                                 "2026-11-22T18:00:00ZZ",
                                 "2026-11-22T18:00:00Z ",
                                 " 2026-11-22T18:00:00Z",
                                 "2026-02-29T00:00:00Z",
                                 "1900-02-29T00:00:00Z",
                                 "2026-13-01T00:00:00Z",
                                 "2026-00-01T00:00:00Z",
                                 "2026-04-31T00:00:00Z",
                                 "2026-01-00T00:00:00Z",
                                 "2026-01-01T24:00:00Z",
                                 "2026-01-01T00:60:00Z",
                                 "2026-01-01T00:00:60Z",
                                 "1969-12-31T23:59:59Z",
                                 "+026-01-01T00:00:00Z",
                                 "2026-1-01T00:00:00Z",
                                 "20261122T180000Z",
                                 "2026-11-22T18:00:0xZ"}) {
        auto parsed = parse_time(bad);
        ASSERT_FALSE(parsed.ok()) << bad;
        EXPECT_NE(parsed.error().message.find("2026-11-22T18:00:00Z"), std::string::npos);
    }
    // Every prefix of a good time is refused, none read past the end (ASan builds check).
    std::string good = "2026-11-22T18:00:00.123Z";
    for (size_t n = 0; n < good.size(); ++n)
        EXPECT_FALSE(parse_time(std::string(good.substr(0, n))).ok()) << n;
}

TEST(OneLine, ReplacesControlCharactersAndCuts) {
    EXPECT_EQ(one_line("a\nb\tc\x7f"), "a?b?c?");
    EXPECT_EQ(in_quotes("abcdef", 3), "\"abc...\"");
    EXPECT_EQ(in_quotes("x"), "\"x\"");
}

} // namespace
} // namespace flowwall::policy
