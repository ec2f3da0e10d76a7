// SPDX-License-Identifier: Apache-2.0
// Control API requests: the HTTP/1.1 request parser (src/api/http_message.h) on the bytes a
// client sends, then the JSON bodies the routes read (src/daemon/control_routes.cc) taken
// through the same library calls the routes make: the mode, the flow fields of allow and
// remove, and a model import.
//
// The routes themselves are not run: route_control_request() needs a NodeAgent and a
// FirewallPolicy, which write BPF maps (root, loaded programs); what decides how a body is
// understood is in the calls below.
//
// Promises checked: the parser never throws; fed the same bytes in pieces it reaches the
// same outcome as in one go; a refused request gets a status the server can send (400, 413,
// 501, 505) and a reason; an accepted one has a token method, a path starting with '/', no
// NUL, and exactly Content-Length bytes of body; responses built from any text are
// well-formed HTTP; a model import's error is one line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/api/http_message.h"
#include "src/config/daemon_config.h"
#include "src/policy/flow_text.h"
#include "src/policy/model.h"
#include "src/policy/modes.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

using api::HttpParseLimits;
using api::HttpRequest;
using api::HttpRequestParser;
using nlohmann::json;

// Small enough that inputs of a few hundred bytes reach both limits.
constexpr HttpParseLimits kSmallLimits{.max_header_bytes = 96, .max_body_bytes = 24};

bool same_request(const HttpRequest& a, const HttpRequest& b) {
    return a.method == b.method && a.target == b.target && a.query == b.query &&
           a.headers == b.headers && a.body == b.body && a.version_minor == b.version_minor;
}

// The same bytes in pieces of input-chosen sizes, as a slow client would send them.
api::HttpParseOutcome parse_in_pieces(std::string_view bytes, HttpParseLimits limits,
                                      InputRandom& random) {
    HttpRequestParser parser(limits);
    auto state = parser.state();
    while (!bytes.empty() && state == HttpRequestParser::State::need_more) {
        size_t piece = 1 + random.below(std::min<size_t>(bytes.size(), 64));
        state = parser.feed(bytes.substr(0, piece));
        bytes.remove_prefix(piece);
    }
    api::HttpParseOutcome outcome{state, {}, parser.error_status(), parser.error_reason()};
    if (state != HttpRequestParser::State::error)
        outcome.request = parser.take_request();
    return outcome;
}

void check_response_is_well_formed(const api::HttpResponse& response) {
    const std::string wire = api::format_response(response);
    const auto head_end = wire.find("\r\n\r\n");
    FUZZ_CHECK(head_end != std::string::npos, "response without the blank line");
    FUZZ_CHECK(wire.size() - head_end - 4 == response.body.size(), "body length differs");
    FUZZ_CHECK(wire.find("Content-Length: " + std::to_string(response.body.size()) + "\r\n") <
                   head_end,
               "Content-Length missing or wrong");
    // Every line of the head ends in CRLF: no bare CR or LF can start a header of its own.
    for (size_t i = 0; i < head_end; ++i) {
        if (wire[i] == '\n')
            FUZZ_CHECK(i > 0 && wire[i - 1] == '\r', "bare LF in the response head");
        if (wire[i] == '\r')
            FUZZ_CHECK(wire[i + 1] == '\n', "bare CR in the response head");
    }
}

// Content-Length as the decimal number it is ("007" is 7), "0" when absent.
std::string declared_body_size(const HttpRequest& request) {
    const std::string text = request.header("content-length");
    const auto digits = text.find_first_not_of('0');
    return digits == std::string::npos ? "0" : text.substr(digits);
}

void check_request(const HttpRequest& request) {
    FUZZ_CHECK(!request.method.empty(), "empty method");
    FUZZ_CHECK(request.target.starts_with("/"), request.target);
    FUZZ_CHECK(request.target.find('\0') == std::string::npos, "NUL in the path");
    FUZZ_CHECK(std::to_string(request.body.size()) == declared_body_size(request),
               "body length is not Content-Length");
    for (const auto& [name, value] : request.headers) {
        for (char c : name)
            FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "header name not lower-cased: " + name);
    }
    // A name the CLI puts into a path segment must come back out of it unchanged.
    std::string decoded;
    FUZZ_CHECK(api::percent_decode(api::percent_encode(request.target), false, decoded) &&
                   decoded == request.target,
               request.target);
}

std::string string_field(const json& body, const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The flow fields of /v1/model/allow and /v1/model/remove.
void fuzz_flow_body(const json& body) {
    auto protocol = policy::parse_protocol(string_field(body, "protocol"));
    if (!protocol) {
        FUZZ_CHECK(!protocol.error().message.empty(), "parse_protocol error without a message");
        return;
    }
    auto port = body.find("port");
    if (port == body.end() || !port->is_number_unsigned() || port->get<uint64_t>() > 65535)
        return;
    policy::FlowKey flow{string_field(body, "src"), string_field(body, "dst"),
                         static_cast<uint16_t>(port->get<uint64_t>()), protocol.value()};
    auto valid = policy::validate_flow_key(flow);
    if (!valid) {
        FUZZ_CHECK(!valid.error().message.empty(), "validate_flow_key error without a message");
        return;
    }
    // What the API accepted, the CLI can type: the answer's messages tell people to.
    if (policy::protocol_has_ports(flow.protocol) && flow.port == 0)
        return;
    auto typed = policy::parse_flow(flow.src, flow.dst, policy::port_proto_string(flow));
    FUZZ_CHECK(typed.ok() && typed.value() == flow, policy::flow_string(flow));
}

void fuzz_body(const HttpRequest& request) {
    // As the routes read a body: empty is {}, anything but an object is a 400.
    auto body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return;
    if (auto mode = policy::parse_mode(string_field(body, "mode")); !mode)
        FUZZ_CHECK(is_one_line(mode.error().message), mode.error().message);
    fuzz_flow_body(body);
    auto model = policy::Model::from_document(body, "request body");
    if (!model)
        FUZZ_CHECK(is_one_line(model.error().message), model.error().message);
    // Echoing any of it back (names from the body end up in answers) must not throw, even
    // when a string in it is not UTF-8.
    check_response_is_well_formed(api::json_response(200, body));
}

void fuzz_parse(std::string_view bytes, HttpParseLimits limits, InputRandom& random) {
    auto whole = api::parse_http_request(bytes, limits);
    auto pieces = parse_in_pieces(bytes, limits, random);
    // The statuses may differ: fed in pieces, a head is refused as too large (413) as soon as
    // it is, before bytes further on that would have made it malformed (400) are seen.
    FUZZ_CHECK(whole.state == pieces.state, "fed in pieces, the parser decided differently");
    if (whole.state == HttpRequestParser::State::error) {
        const int status = whole.error_status;
        FUZZ_CHECK(status == 400 || status == 413 || status == 501 || status == 505,
                   std::to_string(status));
        FUZZ_CHECK(!whole.error_reason.empty(), "error without a reason");
        check_response_is_well_formed(api::error_response(status, whole.error_reason));
        return;
    }
    FUZZ_CHECK(same_request(whole.request, pieces.request),
               "fed in pieces, the parser read another request");
    if (whole.state != HttpRequestParser::State::complete)
        return;
    check_request(whole.request);
    fuzz_body(whole.request);
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall::fuzz;
    const std::string_view bytes = as_text(data, size);
    InputRandom random(data, size);
    fuzz_parse(bytes, HttpParseLimits{}, random);
    fuzz_parse(bytes, kSmallLimits, random);
    return 0;
}
