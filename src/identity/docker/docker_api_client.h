// SPDX-License-Identifier: Apache-2.0
// A small HTTP client for the Docker Engine API on its Unix socket (libcurl). Only GET: flowwall
// reads the daemon, it never changes containers.
//
// Every call can be cancelled through a std::stop_token and returns within a few milliseconds
// of the stop request, because the source's run() must end within about a second of its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/common/result.h"

namespace flowwall::identity::docker {

class DockerApiClient {
public:
    struct Options {
        std::string socket_path = "/var/run/docker.sock";
        // 1.41 is what Debian 12's docker.io 20.10 speaks; newer daemons still accept it.
        std::string api_version = "v1.41";
        // For ordinary requests (connect included); streams have no overall limit.
        std::chrono::milliseconds timeout{5000};
        size_t max_json_bytes = size_t{64} << 20;
        size_t max_line_bytes = size_t{1} << 20;
    };

    // What came back from the daemon, whatever the status.
    struct Response {
        long status = 0;
        nlohmann::json body; // null when the body was empty
    };

    explicit DockerApiClient(Options options);
    ~DockerApiClient();
    DockerApiClient(const DockerApiClient&) = delete;
    DockerApiClient& operator=(const DockerApiClient&) = delete;

    const Options& options() const { return options_; }

    // GET `path` ("/containers/json", with its query already encoded) and parse the body as
    // JSON. An Error only when no HTTP answer came (daemon unreachable, timeout, stop, body too
    // large or not JSON); a 404 is a Response the caller interprets.
    Result<Response> get(std::string_view path, std::stop_token stop = {});

    // Same, but any status outside 2xx is an Error carrying the status and Docker's "message".
    Result<nlohmann::json> get_json(std::string_view path, std::stop_token stop = {});

    // GET a newline-delimited stream (`/events`) and call on_line for every non-empty line, as
    // it arrives. Returns an ok Status when stop is requested or `until` passes; an Error when
    // the daemon cannot be reached, answers non-2xx, ends the stream, sends a line longer than
    // max_line_bytes, or on_line throws.
    Status stream_lines(std::string_view path,
                        const std::function<void(std::string_view line)>& on_line,
                        std::stop_token stop,
                        std::optional<std::chrono::steady_clock::time_point> until = {});

private:
    Options options_;
};

// Percent-encodes everything but RFC 3986 unreserved characters, for query values such as the
// JSON of /events filters.
std::string url_encode(std::string_view text);

} // namespace flowwall::identity::docker
