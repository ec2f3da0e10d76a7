// SPDX-License-Identifier: Apache-2.0
#include "src/web/web_server.h"

#include "src/web/radar_assets.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace flowwall::web {

Result<std::pair<std::string, int>> parse_listen_address(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
        return Error{EINVAL,
                     "\"" + listen + "\" is not HOST:PORT, e.g. 127.0.0.1:9190 or [::1]:9190"};
    std::string host = listen.substr(0, colon);
    if (host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    int port = -1;
    auto text = std::string_view(listen).substr(colon + 1);
    auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (failure != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535)
        return Error{EINVAL, "\"" + listen + "\": the port must be a number 0-65535"};
    return std::pair{host, port};
}

Result<std::unique_ptr<WebServer>> WebServer::start(const std::string& listen, WebRoutes routes) {
    auto parsed = parse_listen_address(listen);
    if (!parsed)
        return parsed.error();
    auto [host, port] = parsed.value();
    std::unique_ptr<WebServer> web(new WebServer());
    web->server_ = std::make_unique<httplib::Server>();
    auto& server = *web->server_;
    // The page loads nothing from elsewhere; say so to the browser, so that an identity name
    // that slipped into the page as markup could still not run or fetch anything.
    server.set_default_headers(
        {{"Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                     "img-src 'self' data:; frame-ancestors 'none'"},
         {"X-Content-Type-Options", "nosniff"},
         {"Cache-Control", "no-store"}});
    server.Get("/metrics",
               [metrics = routes.metrics](const httplib::Request&, httplib::Response& response) {
                   response.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
               });
    server.Get("/healthz",
               [health = routes.health](const httplib::Request&, httplib::Response& response) {
                   HealthReport report = health();
                   response.status = report.healthy ? 200 : 503;
                   response.set_content(report.text + "\n", "text/plain; charset=utf-8");
               });
    server.Get(R"(/api/v1/([a-z_]+))", [api = routes.api](const httplib::Request& request,
                                                          httplib::Response& response) {
        std::map<std::string, std::string> query(request.params.begin(), request.params.end());
        ApiReply reply = api(request.matches[1], query);
        response.status = reply.status;
        response.set_content(reply.body, "application/json");
    });
    server.Get(R"(/.*)", [](const httplib::Request& request, httplib::Response& response) {
        if (const StaticAsset* asset = find_radar_asset(request.path)) {
            response.set_content(asset->body.data(), asset->body.size(),
                                 std::string(asset->content_type));
            return;
        }
        response.status = 404;
        response.set_content(request.path + " is not served here: / (Radar), /api/v1/graph, "
                                            "/api/v1/identity?name=, /metrics, /healthz\n",
                             "text/plain; charset=utf-8");
    });
    // Read-only: every other method is refused, whatever the path.
    auto refuse = [](const httplib::Request& request, httplib::Response& response) {
        response.status = 405;
        response.set_header("Allow", "GET, HEAD");
        response.set_content(request.method +
                                 " is not allowed: this endpoint is read-only; the firewall "
                                 "is changed through the control socket (flowwall CLI)\n",
                             "text/plain; charset=utf-8");
    };
    server.Post(R"(/.*)", refuse);
    server.Put(R"(/.*)", refuse);
    server.Patch(R"(/.*)", refuse);
    server.Delete(R"(/.*)", refuse);
    server.Options(R"(/.*)", refuse);
    int bound =
        port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
    if (bound < 0)
        return Error{EADDRINUSE, "cannot listen on " + listen +
                                     " for Radar and /metrics: the address is in use or not "
                                     "local; choose another with --web-listen (empty: off)"};
    web->address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                    std::to_string(bound);
    web->thread_ = std::thread([&server] { server.listen_after_bind(); });
    spdlog::info("Radar on http://{}/ (also /api/v1/graph, /metrics, /healthz)", web->address_);
    return web;
}

WebServer::~WebServer() {
    if (server_)
        server_->stop();
    if (thread_.joinable())
        thread_.join();
}

} // namespace flowwall::web
