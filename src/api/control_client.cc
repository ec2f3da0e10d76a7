// SPDX-License-Identifier: Apache-2.0
#include "src/api/control_client.h"

#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <utility>

#include <curl/curl.h>

namespace flowwall::api {

namespace {

// A larger answer is a bug or not flowwalld: stop reading rather than exhaust memory.
constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;

struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Receives body bytes; false aborts the transfer (CURLE_WRITE_ERROR).
using Sink = std::function<bool(std::string_view bytes, CURL* handle)>;

struct SinkContext {
    const Sink* sink;
    CURL* handle;
};

size_t write_to_sink(char* data, size_t size, size_t count, void* user) {
    auto* context = static_cast<SinkContext*>(user);
    std::size_t bytes = size * count;
    return (*context->sink)(std::string_view(data, bytes), context->handle) ? bytes : 0;
}

struct Outcome {
    CURLcode code = CURLE_OK;
    long os_errno = 0; // errno of the failed connect(), when that is what failed
    long status = 0;
    std::string detail; // curl's error text
};

Outcome perform(const std::filesystem::path& socket_path, const std::string& method,
                const std::string& path, const std::string* body, std::chrono::milliseconds timeout,
                const Sink& sink) {
    // curl_global_init is not thread-safe before curl 7.84; once per process is all it needs.
    static std::once_flag init_once;
    std::call_once(init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

    Outcome outcome;
    std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
    if (!handle) {
        outcome.code = CURLE_FAILED_INIT;
        outcome.detail = "cannot initialise libcurl";
        return outcome;
    }
    CURL* curl = handle.get();
    char error_text[CURL_ERROR_SIZE] = {};
    std::string url = "http://localhost" + path;
    curl_slist* header_list = nullptr;
    for (const char* header : {"Accept: application/json", "Content-Type: application/json",
                               // Our bodies are small; skip curl's 1 s wait for 100 Continue.
                               "Expect:"}) {
        if (curl_slist* appended = curl_slist_append(header_list, header))
            header_list = appended;
    }
    std::unique_ptr<curl_slist, SlistDeleter> headers(header_list);
    SinkContext context{&sink, curl};
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); // no SIGALRM timeouts in a threaded caller
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "flowwall");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
    if (timeout.count() > 0)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_to_sink);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &context);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    if (method != (body ? "POST" : "GET"))
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());

    outcome.code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &outcome.status);
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &outcome.os_errno);
    outcome.detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(outcome.code);
    return outcome;
}

std::string not_running(const std::filesystem::path& socket_path) {
    return "flowwalld is not running: no control socket at " + socket_path.string() +
           " (start it with: systemctl start flowwalld, or pass --socket)";
}

std::string permission_denied(const std::filesystem::path& socket_path) {
    return "permission denied on " + socket_path.string() +
           ": the control socket is root-only, run as root (sudo flowwall ...)";
}

// curl reports a missing socket, a refused connection and a permission error alike
// (CURLE_COULDNT_CONNECT); the socket file and the connect() errno tell them apart.
Error connect_error(const std::filesystem::path& socket_path, long os_errno) {
    struct stat st {};
    if (::stat(socket_path.c_str(), &st) != 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            return Error{ENOENT, not_running(socket_path)};
        if (err == EACCES)
            return Error{EACCES, permission_denied(socket_path)};
        return Error::from_errno(err, "cannot reach the control socket " + socket_path.string());
    }
    if (!S_ISSOCK(st.st_mode))
        return Error{ENOTSOCK, socket_path.string() + " is not a socket: pass flowwalld's "
                                                      "control socket with --socket"};
    if (os_errno == EACCES || os_errno == EPERM)
        return Error{EACCES, permission_denied(socket_path)};
    if (os_errno == ENOENT) // removed between connect() and stat(): the daemon just stopped
        return Error{ENOENT, not_running(socket_path)};
    return Error{ECONNREFUSED, "nothing listens on " + socket_path.string() +
                                   ": flowwalld is not running or crashed; see journalctl -u "
                                   "flowwalld"};
}

std::string describe(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0)
        return std::to_string(duration.count() / 1000) + " s";
    return std::to_string(duration.count()) + " ms";
}

Error transport_error(const std::filesystem::path& socket_path, const Outcome& outcome,
                      std::chrono::milliseconds timeout) {
    switch (outcome.code) {
    case CURLE_COULDNT_CONNECT:
        return connect_error(socket_path, outcome.os_errno);
    case CURLE_OPERATION_TIMEDOUT:
        return Error{ETIMEDOUT, "flowwalld did not answer on " + socket_path.string() + " within " +
                                    describe(timeout) +
                                    ": it may be overloaded or stuck; see journalctl -u "
                                    "flowwalld"};
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return Error{ECONNRESET, "flowwalld closed the connection on " + socket_path.string() +
                                     " without a complete answer (" + outcome.detail +
                                     "); see journalctl -u flowwalld"};
    default:
        return Error{0, "talking to flowwalld on " + socket_path.string() +
                            " failed: " + outcome.detail};
    }
}

bool is_success(long status) {
    return status >= 200 && status < 300;
}

std::string excerpt(const std::string& text) {
    std::string out = text.substr(0, 200);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out.size() < text.size() && text.size() > 200 ? out + "..." : out;
}

} // namespace

std::string error_message_from(long status, const std::string& body) {
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) {
        auto error = parsed.find("error");
        if (error != parsed.end() && error->is_object()) {
            auto message = error->find("message");
            if (message != error->end() && message->is_string())
                return message->get<std::string>();
        }
    }
    std::string text = "flowwalld answered HTTP " + std::to_string(status);
    if (!body.empty())
        text += ": " + excerpt(body);
    return text;
}

ControlClient::ControlClient(std::filesystem::path socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

Result<ApiResponse> ControlClient::request(const std::string& method, const std::string& path,
                                           const nlohmann::json* body) const {
    std::string payload;
    if (body)
        payload = body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string answer;
    bool too_large = false;
    Sink sink = [&](std::string_view bytes, CURL*) {
        if (answer.size() + bytes.size() > kMaxAnswerBytes) {
            too_large = true;
            return false;
        }
        answer.append(bytes);
        return true;
    };
    Outcome outcome =
        perform(socket_path_, method, path, body ? &payload : nullptr, timeout_, sink);
    if (too_large)
        return Error{EFBIG, "the answer of flowwalld on " + socket_path_.string() +
                                " is larger than 64 MiB: not flowwalld, or a bug"};
    if (outcome.code != CURLE_OK)
        return transport_error(socket_path_, outcome, timeout_);

    ApiResponse response;
    response.status = outcome.status;
    if (answer.find_first_not_of(" \t\r\n") == std::string::npos)
        return response;
    response.body = nlohmann::json::parse(answer, nullptr, false);
    if (response.body.is_discarded()) {
        if (!is_success(outcome.status)) { // e.g. a proxy's HTML page: keep what it said
            response.body =
                nlohmann::json{{"error",
                                {{"code", outcome.status},
                                 {"message", error_message_from(outcome.status, answer)}}}};
            return response;
        }
        return Error{0, "the answer on " + socket_path_.string() + " is not JSON (HTTP " +
                            std::to_string(outcome.status) + ": " + excerpt(answer) +
                            "): is --socket pointing at flowwalld's control socket?"};
    }
    return response;
}

namespace {

Result<nlohmann::json> body_of(Result<ApiResponse> response) {
    if (!response)
        return response.error();
    ApiResponse& answer = response.value();
    if (is_success(answer.status))
        return std::move(answer.body);
    return Error{0, error_message_from(answer.status,
                                       answer.body.is_null() ? std::string() : answer.body.dump())};
}

} // namespace

Result<nlohmann::json> ControlClient::get(const std::string& path) const {
    return body_of(request("GET", path, nullptr));
}

Result<nlohmann::json> ControlClient::post(const std::string& path,
                                           const nlohmann::json& body) const {
    return body_of(request("POST", path, &body));
}

Status
ControlClient::stream_lines(const std::string& path,
                            const std::function<bool(std::string_view line)>& on_line) const {
    std::string pending;    // a line not complete yet, or the error body
    bool stopped = false;   // on_line asked to stop
    bool too_large = false; // a single line (or error body) over the limit
    long status = 0;
    Sink sink = [&](std::string_view bytes, CURL* curl) {
        if (status == 0)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (pending.size() + bytes.size() > kMaxAnswerBytes) {
            too_large = true;
            return false;
        }
        pending.append(bytes);
        if (!is_success(status))
            return true; // collect the error body whole
        std::size_t start = 0;
        for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
             start = newline + 1) {
            std::string_view line(pending.data() + start, newline - start);
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            if (!line.empty() && !on_line(line)) {
                stopped = true;
                return false;
            }
        }
        pending.erase(0, start);
        return true;
    };
    Outcome outcome =
        perform(socket_path_, "GET", path, nullptr, std::chrono::milliseconds(0), sink);
    if (stopped)
        return {};
    if (too_large)
        return Error{EFBIG, "a line streamed by flowwalld on " + socket_path_.string() +
                                " is larger than 64 MiB: not flowwalld, or a bug"};
    if (outcome.code != CURLE_OK)
        return transport_error(socket_path_, outcome, timeout_);
    if (!is_success(outcome.status))
        return Error{0, error_message_from(outcome.status, pending)};
    if (!pending.empty() && pending != "\r")
        on_line(pending); // the stream ended without a final newline
    return {};
}

} // namespace flowwall::api
