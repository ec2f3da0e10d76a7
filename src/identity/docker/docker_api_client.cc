// SPDX-License-Identifier: Apache-2.0
#include "src/identity/docker/docker_api_client.h"

#include "src/common/json_in_errors.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>

namespace flowwall::identity::docker {

using nlohmann::json;

namespace {

struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
    void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

void global_init() {
    // curl_global_init is not thread-safe in every libcurl build; once per process is enough.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string mib(size_t bytes) {
    return bytes % (size_t{1} << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                          : std::to_string(bytes) + " bytes";
}

// Everything the write callback sees of one request. The callback only stores bytes; lines
// are handed to the caller from perform()'s loop, outside libcurl, so the caller may issue
// requests of its own and throw without unwinding through C code.
struct Transfer {
    CURL* easy = nullptr;
    bool streaming = false;
    size_t limit = 0; // body (non-streaming, or an error body) or line (streaming)
    std::string body; // response body, or the unfinished line of a stream
    std::deque<std::string> lines;
    bool over_limit = false;
    long status = 0; // known once the first body byte arrives
    char errbuf[CURL_ERROR_SIZE] = {};
};

size_t on_write(char* data, size_t size, size_t count, void* userdata) {
    auto& t = *static_cast<Transfer*>(userdata);
    const size_t n = size * count;
    if (t.status == 0)
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
    const bool split = t.streaming && t.status >= 200 && t.status < 300;
    if (!split) {
        if (t.body.size() + n > t.limit) {
            t.over_limit = true;
            return 0; // aborts the transfer with CURLE_WRITE_ERROR
        }
        t.body.append(data, n);
        return n;
    }
    std::string_view chunk(data, n);
    while (!chunk.empty()) {
        const size_t newline = chunk.find('\n');
        const std::string_view part = chunk.substr(0, newline);
        if (t.body.size() + part.size() > t.limit) {
            t.over_limit = true;
            return 0;
        }
        t.body.append(part);
        if (newline == std::string_view::npos)
            break;
        if (!t.body.empty() && t.body != "\r")
            t.lines.push_back(std::move(t.body));
        t.body.clear();
        chunk.remove_prefix(newline + 1);
    }
    return n;
}

enum class Outcome { finished, stopped, deadline };

struct Performed {
    Outcome outcome = Outcome::finished;
    CURLcode code = CURLE_OK;
    std::string multi_error; // a CURLM failure, which has no CURLcode
};

// Runs one transfer on a private multi handle so that a stop request can wake the wait at once
// (curl_multi_wakeup) instead of after libcurl's next progress tick, and so that the stream
// can leave at a deadline while idle. `drain` is called after each step with the transfer's
// complete lines; it may call into the client again.
Performed perform(Transfer& t, std::stop_token stop,
                  std::optional<std::chrono::steady_clock::time_point> until,
                  const std::function<void(std::deque<std::string>&)>& drain) {
    Performed result;
    MultiHandle multi(curl_multi_init());
    if (!multi || curl_multi_add_handle(multi.get(), t.easy) != CURLM_OK) {
        result.multi_error = "cannot set up a libcurl transfer";
        return result;
    }
    struct Detach {
        CURLM* multi;
        CURL* easy;
        ~Detach() { curl_multi_remove_handle(multi, easy); }
    } detach{multi.get(), t.easy};
    CURLM* raw = multi.get();
    std::stop_callback wake(stop, [raw] { curl_multi_wakeup(raw); });

    for (;;) {
        if (stop.stop_requested()) {
            result.outcome = Outcome::stopped;
            return result;
        }
        int running = 0;
        if (CURLMcode mc = curl_multi_perform(raw, &running); mc != CURLM_OK) {
            result.multi_error = curl_multi_strerror(mc);
            return result;
        }
        if (drain && !t.lines.empty())
            drain(t.lines);
        if (running == 0) {
            int queued = 0;
            while (CURLMsg* msg = curl_multi_info_read(raw, &queued)) {
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == t.easy)
                    result.code = msg->data.result;
            }
            return result;
        }
        int timeout_ms = 1000;
        if (until) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                *until - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                result.outcome = Outcome::deadline;
                return result;
            }
            timeout_ms = int(std::min<int64_t>(left.count() + 1, timeout_ms));
        }
        if (CURLMcode mc = curl_multi_poll(raw, nullptr, 0, timeout_ms, nullptr); mc != CURLM_OK) {
            result.multi_error = curl_multi_strerror(mc);
            return result;
        }
    }
}

// Docker answers errors as {"message": "..."}; anything else is shown as it came, shortened.
std::string docker_message(const std::string& body) {
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_object()) {
        auto it = parsed.find("message");
        if (it != parsed.end() && it->is_string())
            return it->get<std::string>();
    }
    std::string text = body.substr(0, 200);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    return text.empty() ? "(empty body)" : text;
}

} // namespace

DockerApiClient::DockerApiClient(Options options) : options_(std::move(options)) {
    global_init();
}

DockerApiClient::~DockerApiClient() = default;

namespace {

struct Request {
    EasyHandle easy;
    Transfer transfer;
};

// The easy handle for GET <path>. Streams get no overall time limit: /events is meant to stay
// open, idle for as long as nothing happens.
Result<std::unique_ptr<Request>> make_request(const DockerApiClient::Options& options,
                                              std::string_view path, bool streaming) {
    auto request = std::make_unique<Request>();
    request->easy.reset(curl_easy_init());
    if (!request->easy)
        return Error{ENOMEM, "cannot create a libcurl handle"};
    CURL* easy = request->easy.get();
    Transfer& t = request->transfer;
    t.easy = easy;
    t.streaming = streaming;
    t.limit = streaming ? options.max_line_bytes : options.max_json_bytes;
    const std::string url = "http://docker/" + options.api_version + std::string(path);
    curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, options.socket_path.c_str());
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(options.timeout.count()));
    if (!streaming)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(options.timeout.count()));
    // Only the Unix socket is ever contacted; refuse anything a redirect could point to.
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    return request;
}

Error transport_error(const DockerApiClient::Options& options, std::string_view path,
                      const Transfer& t, const Performed& p) {
    const std::string what = "GET " + std::string(path);
    if (!p.multi_error.empty())
        return Error{0, what + ": " + p.multi_error};
    if (t.over_limit)
        return Error{EFBIG, what + ": the Docker daemon sent " +
                                (t.streaming ? "a line longer than " + mib(t.limit)
                                             : "more than " + mib(t.limit)) +
                                "; refusing to buffer it"};
    const std::string detail = t.errbuf[0] ? t.errbuf : curl_easy_strerror(p.code);
    if (p.code == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
        const std::string hint = os_errno == EACCES
                                     ? " (flowwall needs root, or the socket's group, to use it)"
                                     : " (is dockerd running?)";
        if (os_errno != 0)
            return Error::from_errno(int(os_errno), "cannot reach the Docker daemon at " +
                                                        options.socket_path + hint);
        return Error{0, "cannot reach the Docker daemon at " + options.socket_path + ": " + detail +
                            hint};
    }
    if (p.code == CURLE_OPERATION_TIMEDOUT)
        return Error{ETIMEDOUT, what + ": no answer from the Docker daemon at " +
                                    options.socket_path + " within " +
                                    std::to_string(options.timeout.count()) + " ms"};
    return Error{0, what + " from the Docker daemon at " + options.socket_path + ": " + detail};
}

Error status_error(std::string_view path, long status, const std::string& body) {
    return Error{0, "GET " + std::string(path) + ": the Docker daemon answered HTTP " +
                        std::to_string(status) + ": " + docker_message(body)};
}

} // namespace

Result<DockerApiClient::Response> DockerApiClient::get(std::string_view path,
                                                       std::stop_token stop) {
    auto made = make_request(options_, path, false);
    if (!made)
        return made.error();
    Transfer& t = made.value()->transfer;
    const Performed p = perform(t, stop, std::nullopt, {});
    if (p.outcome == Outcome::stopped)
        return Error{ECANCELED, "GET " + std::string(path) + ": stopped"};
    if (!p.multi_error.empty() || p.code != CURLE_OK)
        return transport_error(options_, path, t, p);
    Response response;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &response.status);
    if (t.body.empty())
        return response;
    try {
        response.body = json::parse(t.body);
    } catch (const json::exception& e) {
        if (response.status < 200 || response.status >= 300)
            return status_error(path, response.status, t.body);
        return Error{0, "GET " + std::string(path) +
                            ": the Docker daemon's answer is not JSON: " + e.what()};
    }
    return response;
}

Result<json> DockerApiClient::get_json(std::string_view path, std::stop_token stop) {
    auto response = get(path, stop);
    if (!response)
        return response.error();
    const long status = response.value().status;
    if (status < 200 || status >= 300)
        return status_error(
            path, status,
            response.value().body.is_null() ? "" : common::shown_in_error(response.value().body));
    return std::move(response.value().body);
}

Status DockerApiClient::stream_lines(std::string_view path,
                                     const std::function<void(std::string_view line)>& on_line,
                                     std::stop_token stop,
                                     std::optional<std::chrono::steady_clock::time_point> until) {
    auto made = make_request(options_, path, true);
    if (!made)
        return made.error();
    Transfer& t = made.value()->transfer;
    std::optional<Error> callback_error;
    // Lines already received when the caller asks to stop are dropped: it is leaving anyway.
    auto drain = [&](std::deque<std::string>& lines) {
        while (!lines.empty() && !callback_error && !stop.stop_requested()) {
            std::string line = std::move(lines.front());
            lines.pop_front();
            try {
                on_line(line);
            } catch (const std::exception& e) {
                callback_error = Error{0, "GET " + std::string(path) + ": " + e.what()};
            } catch (...) {
                callback_error = Error{0, "GET " + std::string(path) + ": unknown exception"};
            }
        }
        if (callback_error)
            lines.clear();
    };
    // A callback failure ends the stream through the same stop path as the caller's stop.
    std::stop_source failed;
    std::stop_callback forward(stop, [&failed] { failed.request_stop(); });
    auto drain_and_flag = [&](std::deque<std::string>& lines) {
        drain(lines);
        if (callback_error)
            failed.request_stop();
    };
    const Performed p = perform(t, failed.get_token(), until, drain_and_flag);
    if (callback_error)
        return *callback_error;
    if (p.outcome != Outcome::finished)
        return {};
    if (!p.multi_error.empty() || p.code != CURLE_OK)
        return transport_error(options_, path, t, p);
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300)
        return status_error(path, status, t.body);
    return Error{0, "GET " + std::string(path) + ": the Docker daemon at " + options_.socket_path +
                        " ended the stream"};
}

std::string url_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

} // namespace flowwall::identity::docker
