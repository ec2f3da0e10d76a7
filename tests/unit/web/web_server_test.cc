// SPDX-License-Identifier: Apache-2.0
// The web endpoint's routing with stand-in callbacks (the daemon's own are exercised by the
// e2e tests): Radar's compiled-in files, the API handed its name and query, and nothing but
// GET accepted anywhere.
#include "src/web/web_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

namespace flowwall::web {
namespace {

class WebServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        WebRoutes routes;
        routes.metrics = [] { return std::string("flowwall_up 1\n"); };
        routes.health = [] { return HealthReport{false, "source docker is unavailable"}; };
        routes.api = [this](const std::string& name,
                            const std::map<std::string, std::string>& query) {
            api_calls.push_back(name);
            auto wanted = query.find("name");
            return ApiReply{name == "graph" ? 200 : 404,
                            "{\"name\":\"" + (wanted == query.end() ? "" : wanted->second) + "\"}"};
        };
        auto started = WebServer::start("127.0.0.1:0", std::move(routes));
        ASSERT_TRUE(started) << started.error().to_string();
        server = std::move(started.value());
        auto colon = server->address().rfind(':');
        client = std::make_unique<httplib::Client>("127.0.0.1",
                                                   std::stoi(server->address().substr(colon + 1)));
    }

    std::unique_ptr<WebServer> server;
    std::unique_ptr<httplib::Client> client;
    std::vector<std::string> api_calls;
};

TEST_F(WebServerTest, ServesThePageAndItsCompiledInFiles) {
    auto page = client->Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_NE(page->body.find("<title>flowwall Radar</title>"), std::string::npos);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
              std::string::npos);
    // The page's own code and the graph library, whole (cytoscape is some 400 KiB).
    auto script = client->Get("/radar.js");
    ASSERT_TRUE(script);
    EXPECT_NE(script->body.find("/api/v1/graph"), std::string::npos);
    auto library = client->Get("/vendor/cytoscape.min.js");
    ASSERT_TRUE(library);
    EXPECT_EQ(library->status, 200);
    EXPECT_GT(library->body.size(), 100'000u);
    EXPECT_EQ(client->Get("/radar.css")->status, 200);
}

TEST_F(WebServerTest, UnknownPathsAreNotFoundWithWhatIsServed) {
    auto missing = client->Get("/etc/passwd");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_NE(missing->body.find("/api/v1/graph"), std::string::npos);
    EXPECT_EQ(client->Get("/../CMakeLists.txt")->status, 404);
}

TEST_F(WebServerTest, HandsTheApiItsNameAndQuery) {
    auto graph = client->Get("/api/v1/graph?name=web%2F1");
    ASSERT_TRUE(graph);
    EXPECT_EQ(graph->status, 200);
    EXPECT_EQ(graph->body, "{\"name\":\"web/1\"}");
    EXPECT_EQ(graph->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(client->Get("/api/v1/nothing")->status, 404);
    EXPECT_EQ(api_calls, (std::vector<std::string>{"graph", "nothing"}));
}

TEST_F(WebServerTest, MetricsAndHealthComeFromTheirCallbacks) {
    EXPECT_EQ(client->Get("/metrics")->body, "flowwall_up 1\n");
    auto health = client->Get("/healthz");
    EXPECT_EQ(health->status, 503);
    EXPECT_EQ(health->body, "source docker is unavailable\n");
}

TEST_F(WebServerTest, RefusesEveryMethodButGet) {
    for (const char* path : {"/", "/metrics", "/healthz", "/api/v1/graph", "/nothing"}) {
        auto posted = client->Post(path, "{}", "application/json");
        ASSERT_TRUE(posted);
        EXPECT_EQ(posted->status, 405) << path;
        EXPECT_EQ(posted->get_header_value("Allow"), "GET, HEAD");
        EXPECT_EQ(client->Put(path, "{}", "application/json")->status, 405) << path;
        EXPECT_EQ(client->Delete(path)->status, 405) << path;
        EXPECT_EQ(client->Patch(path, "{}", "application/json")->status, 405) << path;
    }
    EXPECT_TRUE(api_calls.empty());
}

TEST(WebServerStart, SaysWhyItCannotListen) {
    auto bad = WebServer::start("127.0.0.1:notaport", {});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().to_string().find("0-65535"), std::string::npos);
    auto elsewhere = WebServer::start("198.18.0.1:0", {});
    ASSERT_FALSE(elsewhere);
    EXPECT_NE(elsewhere.error().to_string().find("--web-listen"), std::string::npos);
}

} // namespace
} // namespace flowwall::web
