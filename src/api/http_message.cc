// SPDX-License-Identifier: Apache-2.0
#include "src/api/http_message.h"

#include <algorithm>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace flowwall::api {

namespace {

// RFC 9110 token characters: what a method and a header name may contain.
bool is_tchar(unsigned char c) {
    if (c >= '0' && c <= '9')
        return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return is_tchar(c); });
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// Header names and values come from handlers; a CR or LF in them would let a value start a
// new header or the body (response splitting), so they are dropped.
std::string without_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text)
        if (c != '\r' && c != '\n')
            out.push_back(c);
    return out;
}

bool has_body(int status) {
    return status >= 200 && status != 204 && status != 304;
}

} // namespace

std::string HttpRequest::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::query_param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
}

HttpResponse json_response(int status, const nlohmann::json& body) {
    HttpResponse response;
    response.status = status;
    // Invalid UTF-8 (an interface or container name from the kernel or Docker) must not turn
    // a valid answer into an exception: replace it instead.
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return response;
}

HttpResponse error_response(int status, const std::string& message) {
    return json_response(status, {{"error", {{"code", status}, {"message", message}}}});
}

const char* reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

std::string format_response_head(const HttpResponse& response) {
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                       reason_phrase(response.status) + "\r\n";
    if (!response.content_type.empty() && has_body(response.status))
        head += "Content-Type: " + without_crlf(response.content_type) + "\r\n";
    if (!response.stream && has_body(response.status))
        head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    head += "Connection: close\r\n";
    for (const auto& [name, value] : response.headers)
        head += without_crlf(name) + ": " + without_crlf(value) + "\r\n";
    head += "\r\n";
    return head;
}

std::string format_response(const HttpResponse& response) {
    std::string out = format_response_head(response);
    if (has_body(response.status))
        out += response.body;
    return out;
}

bool percent_decode(std::string_view text, bool plus_is_space, std::string& out) {
    out.clear();
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size())
                return false;
            int high = hex_value(text[i + 1]);
            int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0)
                return false;
            c = static_cast<char>(high * 16 + low);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0')
            return false;
        out.push_back(c);
    }
    return true;
}

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        bool unreserved = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
                          c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    return out;
}

HttpRequestParser::State HttpRequestParser::fail(int status, std::string reason) {
    state_ = State::error;
    error_status_ = status;
    error_reason_ = std::move(reason);
    buffer_.clear();
    return state_;
}

HttpRequestParser::State HttpRequestParser::feed(std::string_view bytes) {
    if (state_ != State::need_more)
        return state_;
    if (headers_done_) {
        std::size_t wanted = content_length_ - buffer_.size();
        buffer_.append(bytes.substr(0, std::min(wanted, bytes.size())));
    } else {
        buffer_.append(bytes);
        // Find the blank line that ends the head, rejecting bare LF and NUL on the way: a client
        // that sends them would otherwise wait for its timeout instead of getting a clear 400.
        std::size_t end = std::string::npos;
        for (std::size_t i = scanned_; i < buffer_.size(); ++i) {
            char c = buffer_[i];
            if (c == '\0')
                return fail(400, "NUL byte in the request head");
            if (c != '\n')
                continue;
            if (i == 0 || buffer_[i - 1] != '\r')
                return fail(400, "request lines must end with CRLF");
            if (i >= 3 && buffer_[i - 2] == '\n' && buffer_[i - 3] == '\r') {
                end = i + 1;
                break;
            }
        }
        if (end == std::string::npos) {
            if (buffer_.size() > limits_.max_header_bytes)
                return fail(413, "request head larger than " +
                                     std::to_string(limits_.max_header_bytes) + " bytes");
            scanned_ = buffer_.size();
            return state_;
        }
        if (end > limits_.max_header_bytes)
            return fail(413, "request head larger than " +
                                 std::to_string(limits_.max_header_bytes) + " bytes");
        std::string head = buffer_.substr(0, end - 4); // without the final CRLF CRLF
        std::string rest = buffer_.substr(end);
        buffer_.clear();
        if (parse_head(head) == State::error)
            return state_;
        headers_done_ = true;
        buffer_ = rest.substr(0, std::min(rest.size(), content_length_));
    }
    if (buffer_.size() >= content_length_) {
        request_.body = std::move(buffer_);
        buffer_.clear();
        state_ = State::complete;
    }
    return state_;
}

HttpRequestParser::State HttpRequestParser::parse_head(std::string_view head) {
    std::size_t line_end = head.find("\r\n");
    if (parse_request_line(head.substr(0, line_end)) == State::error)
        return state_;
    while (line_end != std::string_view::npos) {
        head.remove_prefix(line_end + 2);
        line_end = head.find("\r\n");
        if (parse_header_line(head.substr(0, line_end)) == State::error)
            return state_;
    }
    return check_framing();
}

HttpRequestParser::State HttpRequestParser::parse_request_line(std::string_view line) {
    std::size_t first = line.find(' ');
    std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
        return fail(400, "malformed request line: expected METHOD /path HTTP/1.1");
    std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    std::string_view version = line.substr(second + 1);

    if (version == "HTTP/1.1" || version == "HTTP/1.0") {
        request_.version_minor = version.back() - '0';
    } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
               hex_value(version[5]) >= 0 && hex_value(version[5]) <= 9 && version[6] == '.' &&
               hex_value(version[7]) >= 0 && hex_value(version[7]) <= 9) {
        return fail(505, "HTTP version " + std::string(version.substr(5)) +
                             " is not supported: use HTTP/1.1");
    } else {
        return fail(400, "malformed HTTP version in the request line");
    }
    if (!is_token(method))
        return fail(400, "malformed method in the request line");
    request_.method = std::string(method);

    if (target.empty() || target.front() != '/')
        return fail(400, "request target must be a path starting with /");
    target = target.substr(0, target.find('#'));
    std::size_t question = target.find('?');
    if (!percent_decode(target.substr(0, question), false, request_.target))
        return fail(400, "malformed percent-encoding in the request path");
    if (question == std::string_view::npos)
        return state_;
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty())
            continue;
        std::size_t equals = pair.find('=');
        std::string key;
        std::string value;
        if (!percent_decode(pair.substr(0, equals), true, key) ||
            (equals != std::string_view::npos &&
             !percent_decode(pair.substr(equals + 1), true, value)))
            return fail(400, "malformed percent-encoding in the query string");
        request_.query[std::move(key)] = std::move(value);
    }
    return state_;
}

HttpRequestParser::State HttpRequestParser::parse_header_line(std::string_view line) {
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
        return fail(400, "folded header lines are not supported");
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
        return fail(400, "malformed header line");
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (unsigned char c : value)
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(400, "control character in a header value");
    std::string name = lower(line.substr(0, colon));
    auto [it, inserted] = request_.headers.try_emplace(name, value);
    if (inserted)
        return state_;
    // Two different lengths would let two parsers see two different requests (smuggling).
    if (name == "content-length") {
        if (it->second != value)
            return fail(400, "conflicting Content-Length headers");
        return state_;
    }
    it->second += ", ";
    it->second += value;
    return state_;
}

HttpRequestParser::State HttpRequestParser::check_framing() {
    auto te = request_.headers.find("transfer-encoding");
    if (te != request_.headers.end()) {
        if (lower(te->second).find("chunked") != std::string::npos)
            return fail(501, "chunked request bodies are not supported: send Content-Length");
        return fail(501, "Transfer-Encoding " + te->second + " is not supported");
    }
    auto cl = request_.headers.find("content-length");
    if (cl == request_.headers.end())
        return state_;
    const std::string& text = cl->second;
    if (text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail(400, "malformed Content-Length");
    std::uint64_t length = 0;
    for (char c : text) {
        length = length * 10 + static_cast<std::uint64_t>(c - '0');
        if (length > limits_.max_body_bytes)
            return fail(413, "request body larger than " + std::to_string(limits_.max_body_bytes) +
                                 " bytes");
    }
    content_length_ = static_cast<std::size_t>(length);
    return state_;
}

HttpParseOutcome parse_http_request(std::string_view bytes, HttpParseLimits limits) {
    HttpRequestParser parser(limits);
    HttpParseOutcome outcome{parser.feed(bytes), {}, 0, {}};
    outcome.error_status = parser.error_status();
    outcome.error_reason = parser.error_reason();
    if (outcome.state != HttpRequestParser::State::error)
        outcome.request = parser.take_request();
    return outcome;
}

} // namespace flowwall::api
