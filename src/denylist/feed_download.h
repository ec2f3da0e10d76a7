// SPDX-License-Identifier: Apache-2.0
// Getting a feed's text: a file (absolute path or file://) or an http(s) URL through
// libcurl, with a conditional request (If-None-Match / If-Modified-Since from the last good
// answer), a timeout for the whole transfer and a cap on the size of the body.
#pragma once

#include "src/common/result.h"

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>

namespace flowwall::denylist {

struct DownloadRequest {
    std::string url;
    std::string etag;          // of the version in force; sent as If-None-Match
    std::string last_modified; // sent as If-Modified-Since
    std::chrono::milliseconds timeout{30000};
    size_t max_bytes = size_t{64} << 20;
};

struct Download {
    bool not_modified = false; // 304: the version in force is current
    std::string body;
    std::string etag;
    std::string last_modified;
};

// An Error when no usable answer came: unreachable, timeout, a status other than 200/304
// ("HTTP 500 from URL"), a body over max_bytes, a missing file, or the stop token.
Result<Download> download_feed(const DownloadRequest& request, std::stop_token stop = {});

} // namespace flowwall::denylist
