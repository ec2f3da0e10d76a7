// SPDX-License-Identifier: Apache-2.0
// The CLI's side of the control API: JSON over HTTP/1.1 on flowwalld's Unix socket (libcurl).
//
// Every failure comes back as one line that says what is wrong and what to do ("flowwalld is
// not running: no control socket at ... (start it with: systemctl start flowwalld ...)"), so
// the CLI prints Error::message as is. Error::errnum carries the OS error when there was one
// (ENOENT, ECONNREFUSED, EACCES, ETIMEDOUT) and is 0 for answers the daemon gave (HTTP errors):
// print .message, not to_string(), whose strerror suffix would repeat what the message says.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/common/result.h"

namespace flowwall::api {

inline const std::filesystem::path kDefaultControlSocket = "/run/flowwall/flowwall.sock";

// An answer whatever its status: for callers that act on the status (an exit code for 404).
struct ApiResponse {
    long status = 0;
    nlohmann::json body; // null when the body was empty
};

class ControlClient {
public:
    explicit ControlClient(std::filesystem::path socket_path = kDefaultControlSocket,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // The JSON body of a 2xx answer; otherwise an Error whose message is the daemon's
    // {"error": {"message"}} (or says what came back instead).
    Result<nlohmann::json> get(const std::string& path) const;
    Result<nlohmann::json> post(const std::string& path, const nlohmann::json& body) const;

    // Any method, any status. Error only when no parsable answer arrived. body: nullptr sends
    // none. path is sent as is: encode names with percent_encode() (http_message.h).
    Result<ApiResponse> request(const std::string& method, const std::string& path,
                                const nlohmann::json* body) const;

    // For streaming endpoints (events --follow): GETs path and calls on_line for each line of
    // the body as it arrives, until on_line returns false (success) or the daemon ends the
    // stream (success). No overall timeout; connecting still times out. A non-2xx answer is
    // an Error carrying the daemon's message.
    Status stream_lines(const std::string& path,
                        const std::function<bool(std::string_view line)>& on_line) const;

    const std::filesystem::path& socket_path() const { return socket_path_; }

private:
    std::filesystem::path socket_path_;
    std::chrono::milliseconds timeout_;
};

// The message of an error body {"error": {"message": "..."}}, or a description of what came
// back instead (status, start of the body). Exposed for tests.
std::string error_message_from(long status, const std::string& body);

} // namespace flowwall::api
