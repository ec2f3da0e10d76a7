// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/feed_download.h"

#include "src/common/atomic_file.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <string_view>

namespace flowwall::denylist {

namespace {

struct Transfer {
    std::string body;
    std::string etag;
    std::string last_modified;
    size_t max_bytes = 0;
    bool too_big = false;
    std::stop_token stop;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    size_t bytes = size * count;
    if (transfer->body.size() + bytes > transfer->max_bytes) {
        transfer->too_big = true;
        return 0; // aborts the transfer
    }
    transfer->body.append(data, bytes);
    return bytes;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    return text;
}

bool header_is(std::string_view line, std::string_view name) {
    if (line.size() <= name.size() || line[name.size()] != ':')
        return false;
    for (size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i])
            return false;
    return true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    std::string_view line(data, size * count);
    // A redirect's headers come first; each status line starts a new set.
    if (line.starts_with("HTTP/")) {
        transfer->etag.clear();
        transfer->last_modified.clear();
    } else if (header_is(line, "etag")) {
        transfer->etag = trim(line.substr(5));
    } else if (header_is(line, "last-modified")) {
        transfer->last_modified = trim(line.substr(14));
    }
    return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(user)->stop.stop_requested() ? 1 : 0;
}

struct CurlDeleter {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeaderListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

Result<Download> read_feed_file(const DownloadRequest& request) {
    std::string path = request.url.starts_with("file://") ? request.url.substr(7) : request.url;
    auto text = common::read_file(path, request.max_bytes);
    if (!text) {
        if (text.error().errnum == EFBIG)
            return Error{EFBIG, "feed file " + path + " is larger than max_bytes (" +
                                    std::to_string(request.max_bytes) + ")"};
        return Error{text.error().errnum, "feed file: " + text.error().message};
    }
    Download download;
    download.body = std::move(text.value());
    return download;
}

} // namespace

Result<Download> download_feed(const DownloadRequest& request, std::stop_token stop) {
    if (!request.url.starts_with("http://") && !request.url.starts_with("https://"))
        return read_feed_file(request);

    static std::once_flag global_init;
    std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl)
        return Error{ENOMEM, "cannot create a libcurl handle"};
    Transfer transfer;
    transfer.max_bytes = request.max_bytes;
    transfer.stop = stop;
    std::unique_ptr<curl_slist, HeaderListDeleter> headers;
    auto add_header = [&headers](const std::string& line) {
        headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    if (!request.etag.empty())
        add_header("If-None-Match: " + request.etag);
    if (!request.last_modified.empty())
        add_header("If-Modified-Since: " + request.last_modified);

    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    // Redirects may move to another host but never to another scheme than http(s).
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, ""); // gzip and friends; the cap is on
                                                           // what they decompress to
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "flowwalld-feed/1");
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    if (headers)
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());

    CURLcode code = curl_easy_perform(handle);
    if (transfer.too_big)
        return Error{EFBIG, "feed " + request.url + " is larger than max_bytes (" +
                                std::to_string(request.max_bytes) + ")"};
    if (stop.stop_requested())
        return Error{ECANCELED, "download of " + request.url + " stopped"};
    if (code != CURLE_OK)
        return Error{code == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO,
                     "feed " + request.url + ": " + curl_easy_strerror(code)};
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    Download download;
    if (status == 304) {
        download.not_modified = true;
        download.etag = request.etag;
        download.last_modified = request.last_modified;
        return download;
    }
    if (status != 200)
        return Error{EIO, "feed " + request.url + " answered HTTP " + std::to_string(status)};
    download.body = std::move(transfer.body);
    download.etag = std::move(transfer.etag);
    download.last_modified = std::move(transfer.last_modified);
    return download;
}

} // namespace flowwall::denylist
