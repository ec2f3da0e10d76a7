// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 messages of the control API: parsing requests and formatting responses.
//
// The parser is a pure function of the bytes it is fed (no I/O, no clock, no globals) so it can
// be fuzzed, and it is deliberately narrow: the only clients are the flowwall CLI (libcurl) and
// curl --unix-socket, so bodies are delimited by Content-Length only. Everything it does not
// support is refused with the status a client can act on rather than guessed at.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace flowwall::api {

struct HttpRequest {
    std::string method;                         // "GET", "POST", ... as sent (case-sensitive)
    std::string target;                         // percent-decoded path, e.g. "/v1/identities/web"
    std::map<std::string, std::string> query;   // percent-decoded; a repeated key keeps the last
    std::map<std::string, std::string> headers; // names lower-cased; repeats joined with ", "
    std::string body;
    int version_minor = 1; // HTTP/1.0 or HTTP/1.1

    // The value of header `name` (lower-case), or "" when absent.
    std::string header(const std::string& name) const;
    // The value of query parameter `name`, or "" when absent.
    std::string query_param(const std::string& name) const;
};

// Hands a streaming response's body to the connection, piece by piece.
class BodyWriter {
public:
    virtual ~BodyWriter() = default;
    // Sends bytes now. False once the client is gone or the server stops: the producer must
    // then return.
    virtual bool write(std::string_view bytes) = 0;
    // False once the client has hung up or the server is stopping. Lets a producer that waits
    // for something to send (an event) notice a dead connection without writing to it.
    virtual bool alive() = 0;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; // extra headers, sent as given

    // When set, `body` is ignored: the headers go out without Content-Length and the body is
    // whatever `stream` writes until it returns; the end of the body is the end of the
    // connection (HTTP/1.1 allows this since every response carries Connection: close). For
    // `flowwall events --follow`: one JSON object per line.
    std::function<void(BodyWriter&)> stream;
};

// {"...json..."} with Content-Type application/json.
HttpResponse json_response(int status, const nlohmann::json& body);
// {"error": {"code": status, "message": message}}: the one shape of every API error, which the
// client turns back into the message.
HttpResponse error_response(int status, const std::string& message);

// "Not Found" for 404...; "Unknown" for codes this API never sends.
const char* reason_phrase(int status);

// Status line and headers (ending with the blank line) of `response`. With a stream, no
// Content-Length.
std::string format_response_head(const HttpResponse& response);
// The whole response as it goes on the wire (head + body); not for streaming responses.
std::string format_response(const HttpResponse& response);

// Percent-decodes `text`. plus_is_space: '+' means ' ' (query strings). False on a malformed
// escape ("%4", "%zz") or a decoded NUL byte, which no path or parameter of the API contains
// and which would truncate C strings further down.
bool percent_decode(std::string_view text, bool plus_is_space, std::string& out);
// Percent-encodes everything but RFC 3986 unreserved characters: for putting a name that may
// contain '/' or spaces ("registry.local/team/web") into one path segment or query value.
std::string percent_encode(std::string_view text);

struct HttpParseLimits {
    std::size_t max_header_bytes = 16 * 1024; // request line + headers + blank line
    std::size_t max_body_bytes = 1024 * 1024;
};

// Incremental request parser: feed() the bytes as they arrive, until it reports complete or
// error. Never throws on any input; memory is bounded by the limits.
class HttpRequestParser {
public:
    enum class State { need_more, complete, error };

    explicit HttpRequestParser(HttpParseLimits limits = {}) : limits_(limits) {}

    // Appends bytes and parses as far as possible. Once complete or error, further bytes are
    // ignored (one request per connection).
    State feed(std::string_view bytes);

    State state() const { return state_; }
    // True once the request line and headers are parsed and valid: the server may then answer
    // "Expect: 100-continue".
    bool headers_complete() const { return headers_done_; }
    // The parsed request; meaningful once complete (headers also once headers_complete()).
    const HttpRequest& request() const { return request_; }
    HttpRequest take_request() { return std::move(request_); }
    // On error: the status to answer (400, 413, 501, 505) and why, for the error body.
    int error_status() const { return error_status_; }
    const std::string& error_reason() const { return error_reason_; }

private:
    State fail(int status, std::string reason);
    State parse_head(std::string_view head);
    State parse_request_line(std::string_view line);
    State parse_header_line(std::string_view line);
    State check_framing();

    HttpParseLimits limits_;
    State state_ = State::need_more;
    std::string buffer_; // bytes not yet consumed: head until parsed, then body
    std::size_t scanned_ = 0;
    bool headers_done_ = false;
    std::size_t content_length_ = 0;
    HttpRequest request_;
    int error_status_ = 0;
    std::string error_reason_;
};

// One-shot form of the parser for tests and the fuzzer.
struct HttpParseOutcome {
    HttpRequestParser::State state;
    HttpRequest request;
    int error_status = 0;
    std::string error_reason;
};
HttpParseOutcome parse_http_request(std::string_view bytes, HttpParseLimits limits = {});

} // namespace flowwall::api
