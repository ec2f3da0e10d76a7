// SPDX-License-Identifier: Apache-2.0
// flowwalld's read-only HTTP endpoint (--web-listen, loopback by default): the Radar page
// and the JSON it reads (/api/v1/...), /metrics and /healthz. cpp-httplib on its own threads;
// only GET is routed (anything else gets 405), so nothing on this port can change the
// firewall.
#pragma once

#include "src/common/result.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace flowwall::web {

struct HealthReport {
    bool healthy = false;
    std::string text; // "ok", or one line per reason it is not
};

// A JSON answer of the page's API.
struct ApiReply {
    int status = 200;
    std::string body; // JSON
};

struct WebRoutes {
    std::function<std::string()> metrics;
    std::function<HealthReport()> health;
    // GET /api/v1/<name>?<query>: name is what follows "/api/v1/" ("graph", "identity").
    std::function<ApiReply(const std::string& name,
                           const std::map<std::string, std::string>& query)>
        api;
};

class WebServer {
public:
    // listen: "127.0.0.1:9190", "[::1]:9190"; port 0 picks a free one (tests).
    static Result<std::unique_ptr<WebServer>> start(const std::string& listen, WebRoutes routes);
    ~WebServer();
    WebServer(const WebServer&) = delete;
    WebServer& operator=(const WebServer&) = delete;

    // "127.0.0.1:41234": with the port actually bound.
    const std::string& address() const { return address_; }

private:
    WebServer() = default;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::string address_;
};

// "127.0.0.1:9190" -> {"127.0.0.1", 9190}; "[::1]:0" -> {"::1", 0}. The error says the form.
Result<std::pair<std::string, int>> parse_listen_address(const std::string& listen);

} // namespace flowwall::web
