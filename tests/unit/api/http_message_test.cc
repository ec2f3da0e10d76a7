// SPDX-License-Identifier: Apache-2.0
// The request parser and the response formatter, as pure functions of bytes.
#include "src/api/http_message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

namespace flowwall::api {
namespace {

using State = HttpRequestParser::State;

const std::string kGet = "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl\r\n\r\n";
const std::string kPost = "POST /v1/identities/registry.local%2Fteam%2Fweb/mode?force=1&note=a+b%21"
                          " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                          "Content-Length: 16\r\n\r\n{\"mode\":\"block\"}";

void expect_same(const HttpRequest& a, const HttpRequest& b) {
    EXPECT_EQ(a.method, b.method);
    EXPECT_EQ(a.target, b.target);
    EXPECT_EQ(a.query, b.query);
    EXPECT_EQ(a.headers, b.headers);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.version_minor, b.version_minor);
}

TEST(HttpRequestParser, ParsesAGet) {
    auto outcome = parse_http_request(kGet);
    ASSERT_EQ(outcome.state, State::complete) << outcome.error_reason;
    EXPECT_EQ(outcome.request.method, "GET");
    EXPECT_EQ(outcome.request.target, "/v1/status");
    EXPECT_TRUE(outcome.request.query.empty());
    EXPECT_EQ(outcome.request.header("host"), "localhost");
    EXPECT_EQ(outcome.request.header("user-agent"), "curl"); // names are lower-cased
    EXPECT_EQ(outcome.request.header("absent"), "");
    EXPECT_EQ(outcome.request.body, "");
    EXPECT_EQ(outcome.request.version_minor, 1);
}

TEST(HttpRequestParser, ParsesAPostWithEncodedPathAndQuery) {
    auto outcome = parse_http_request(kPost);
    ASSERT_EQ(outcome.state, State::complete) << outcome.error_reason;
    EXPECT_EQ(outcome.request.method, "POST");
    EXPECT_EQ(outcome.request.target, "/v1/identities/registry.local/team/web/mode");
    EXPECT_EQ(outcome.request.query_param("force"), "1");
    EXPECT_EQ(outcome.request.query_param("note"), "a b!");
    EXPECT_EQ(outcome.request.body, R"({"mode":"block"})");
}

TEST(HttpRequestParser, QueryEdgeCases) {
    auto outcome = parse_http_request("GET /x?a&&b=&c=1&c=2#frag HTTP/1.0\r\n\r\n");
    ASSERT_EQ(outcome.state, State::complete) << outcome.error_reason;
    EXPECT_EQ(outcome.request.target, "/x");
    std::map<std::string, std::string> expected{{"a", ""}, {"b", ""}, {"c", "2"}};
    EXPECT_EQ(outcome.request.query, expected);
    EXPECT_EQ(outcome.request.version_minor, 0);
}

TEST(HttpRequestParser, RepeatedHeadersAreJoinedAndValuesTrimmed) {
    auto outcome = parse_http_request(
        "GET / HTTP/1.1\r\nAccept: a\r\naccept:\t b \r\nContent-Length: 0\r\nContent-Length: 0"
        "\r\n\r\n");
    ASSERT_EQ(outcome.state, State::complete) << outcome.error_reason;
    EXPECT_EQ(outcome.request.header("accept"), "a, b");
    EXPECT_EQ(outcome.request.header("content-length"), "0");
}

// TCP and Unix sockets deliver a request in arbitrary pieces: every split must parse alike.
TEST(HttpRequestParser, SameResultForEverySplit) {
    for (const std::string& bytes : {kGet, kPost}) {
        auto whole = parse_http_request(bytes);
        ASSERT_EQ(whole.state, State::complete);
        for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
            HttpRequestParser parser;
            State first = parser.feed(std::string_view(bytes).substr(0, cut));
            if (cut < bytes.size()) {
                EXPECT_EQ(first, State::need_more) << "cut at " << cut;
            }
            ASSERT_EQ(parser.feed(std::string_view(bytes).substr(cut)), State::complete)
                << "cut at " << cut << ": " << parser.error_reason();
            expect_same(parser.request(), whole.request);
        }
        HttpRequestParser byte_by_byte;
        for (char c : bytes)
            byte_by_byte.feed(std::string_view(&c, 1));
        ASSERT_EQ(byte_by_byte.state(), State::complete);
        expect_same(byte_by_byte.request(), whole.request);
    }
}

TEST(HttpRequestParser, HeadersCompleteBeforeTheBody) {
    HttpRequestParser parser;
    std::string head = kPost.substr(0, kPost.find("\r\n\r\n") + 4);
    EXPECT_EQ(parser.feed(head), State::need_more);
    EXPECT_TRUE(parser.headers_complete());
    EXPECT_EQ(parser.feed("{\"mode\":"), State::need_more);
    EXPECT_EQ(parser.feed("\"block\"}TRAILING GARBAGE"), State::complete);
    EXPECT_EQ(parser.request().body, R"({"mode":"block"})"); // bytes past the body are ignored
    EXPECT_EQ(parser.feed("more"), State::complete);
}

struct BadRequest {
    const char* name;
    std::string bytes;
    int status;
};

TEST(HttpRequestParser, RejectsWhatItDoesNotSupport) {
    const std::vector<BadRequest> cases = {
        {"no version", "GET /\r\n\r\n", 400},
        {"empty request line", "\r\n\r\n", 400},
        {"extra space", "GET  / HTTP/1.1\r\n\r\n", 400},
        {"bad method", "G(T / HTTP/1.1\r\n\r\n", 400},
        {"not HTTP", "GET / FTP/1.1\r\n\r\n", 400},
        {"HTTP/2", "GET / HTTP/2.0\r\n\r\n", 505},
        {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505},
        {"absolute target", "GET http://x/ HTTP/1.1\r\n\r\n", 400},
        {"bad escape", "GET /%zz HTTP/1.1\r\n\r\n", 400},
        {"short escape", "GET /a%4 HTTP/1.1\r\n\r\n", 400},
        {"NUL escape", "GET /a%00b HTTP/1.1\r\n\r\n", 400},
        {"bad query escape", "GET /?a=%g1 HTTP/1.1\r\n\r\n", 400},
        {"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400},
        {"NUL in head", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 25), 400},
        {"folded header", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
        {"no colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
        {"space in name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
        {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"control in value", "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
        {"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"other coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"bad length", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
        {"negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"list length", "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400},
        {"conflicting lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
         400},
        {"body over 1 MiB", "POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413},
        {"huge length", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
         413},
        {"head over 16 KiB", "GET / HTTP/1.1\r\nX-Big: " + std::string(17000, 'a') + "\r\n\r\n",
         413},
        // Refused before the blank line ever arrives: memory stays bounded.
        {"endless head", "GET / HTTP/1.1\r\nX-Big: " + std::string(17000, 'a'), 413},
    };
    for (const auto& bad : cases) {
        auto outcome = parse_http_request(bad.bytes);
        EXPECT_EQ(outcome.state, State::error) << bad.name;
        EXPECT_EQ(outcome.error_status, bad.status) << bad.name << ": " << outcome.error_reason;
        EXPECT_FALSE(outcome.error_reason.empty()) << bad.name;
    }
}

TEST(HttpRequestParser, LimitsAreExactAndConfigurable) {
    HttpParseLimits limits{64, 4};
    std::string head = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n"; // 38 bytes
    EXPECT_EQ(parse_http_request(head + "abcd", limits).state, State::complete);
    EXPECT_EQ(parse_http_request("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", limits)
                  .error_status,
              413);
    std::string exactly = "GET / HTTP/1.1\r\nX: " + std::string(64 - 23, 'a') + "\r\n\r\n";
    ASSERT_EQ(exactly.size(), 64u);
    EXPECT_EQ(parse_http_request(exactly, limits).state, State::complete);
    EXPECT_EQ(
        parse_http_request("GET / HTTP/1.1\r\nX: " + std::string(42, 'a') + "\r\n\r\n", limits)
            .error_status,
        413);
}

TEST(HttpRequestParser, WaitsForMore) {
    EXPECT_EQ(parse_http_request("").state, State::need_more);
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nHost: x\r\n").state, State::need_more);
    EXPECT_EQ(parse_http_request("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab").state,
              State::need_more);
}

// Not a substitute for the libFuzzer target, but it keeps the "never crashes, never throws"
// promise checked on every build: random bytes, and random mutations of valid requests.
TEST(HttpRequestParser, SurvivesGarbage) {
    std::mt19937 random(12345);
    static constexpr char kAlphabet[] =
        "GETPOST /?%=&:\r\n\t HTTP/1.0123456789abcdefABCDEF-+\x00\xff";
    const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);
    for (int round = 0; round < 20000; ++round) {
        std::string bytes = round % 2 ? kPost : kGet;
        if (round % 3 == 0)
            bytes.clear();
        std::size_t edits = random() % 12;
        for (std::size_t i = 0; i < edits || bytes.size() < 4; ++i) {
            char c = alphabet[random() % alphabet.size()];
            std::size_t at = bytes.empty() ? 0 : random() % bytes.size();
            if (random() % 2 && !bytes.empty())
                bytes[at] = c;
            else
                bytes.insert(bytes.begin() + static_cast<long>(at), c);
        }
        HttpRequestParser parser(HttpParseLimits{256, 64});
        std::size_t position = 0;
        while (position < bytes.size()) {
            std::size_t piece = 1 + random() % 7;
            ASSERT_NO_THROW(parser.feed(std::string_view(bytes).substr(position, piece)));
            position += piece;
        }
        if (parser.state() == State::error) {
            EXPECT_TRUE(parser.error_status() == 400 || parser.error_status() == 413 ||
                        parser.error_status() == 501 || parser.error_status() == 505)
                << parser.error_status();
        }
    }
}

TEST(PercentCoding, RoundTripsAnyName) {
    for (std::string name : {"registry.local/team/web:2", "a b+c%d?e&f=g#h", "\xc3\xa9t\xc3\xa9",
                             "cidr:203.0.113.0/24", "plain-name_1.0~x"}) {
        std::string encoded = percent_encode(name);
        EXPECT_EQ(encoded.find_first_of("/ +?&=#:"), std::string::npos) << encoded;
        std::string decoded;
        ASSERT_TRUE(percent_decode(encoded, false, decoded));
        EXPECT_EQ(decoded, name);
    }
    EXPECT_EQ(percent_encode("a/b c"), "a%2Fb%20c");
    std::string out;
    EXPECT_TRUE(percent_decode("a+b%2b", true, out));
    EXPECT_EQ(out, "a b+");
    EXPECT_TRUE(percent_decode("a+b", false, out));
    EXPECT_EQ(out, "a+b");
}

TEST(HttpResponse, FormatsJson) {
    std::string wire = format_response(json_response(200, {{"ok", true}}));
    EXPECT_EQ(wire, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    "12\r\nConnection: close\r\n\r\n{\"ok\":true}\n");
}

TEST(HttpResponse, ErrorShape) {
    HttpResponse response = error_response(404, "no identity \"db\"");
    EXPECT_EQ(response.status, 404);
    auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body,
              (nlohmann::json{{"error", {{"code", 404}, {"message", "no identity \"db\""}}}}));
    EXPECT_EQ(format_response(response).rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
}

TEST(HttpResponse, InvalidUtf8DoesNotThrow) {
    HttpResponse response;
    ASSERT_NO_THROW(response = json_response(200, {{"name", "bad\xff"}}));
    EXPECT_NE(response.body.find("bad"), std::string::npos);
}

TEST(HttpResponse, HeadersCannotSplitTheResponse) {
    HttpResponse response = json_response(200, nullptr);
    response.headers.emplace_back("X-Note", "a\r\nSet-Cookie: evil");
    std::string head = format_response_head(response);
    EXPECT_NE(head.find("X-Note: aSet-Cookie: evil\r\n"), std::string::npos) << head;
}

TEST(HttpResponse, NoContentHasNoBodyAndStreamsNoLength) {
    HttpResponse empty;
    empty.status = 204;
    empty.body = "ignored";
    EXPECT_EQ(format_response(empty), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    HttpResponse stream;
    stream.stream = [](BodyWriter&) {};
    EXPECT_EQ(format_response_head(stream).find("Content-Length"), std::string::npos);
}

} // namespace
} // namespace flowwall::api
