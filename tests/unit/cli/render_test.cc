// SPDX-License-Identifier: Apache-2.0
// The CLI's human-readable output from the API's documents.
#include "src/cli/render.h"

#include <gtest/gtest.h>

namespace flowwall::cli {
namespace {

using nlohmann::json;

TEST(Render, Uptime) {
    EXPECT_EQ(render_uptime(0), "0s");
    EXPECT_EQ(render_uptime(192), "3m12s");
    EXPECT_EQ(render_uptime(3600), "1h0m0s");
    EXPECT_EQ(render_uptime(90061), "1d1h1m1s");
}

TEST(Render, EndpointsShowInterfacesAndTheirPeers) {
    json endpoints = json::parse(R"([{
        "name": "web-1", "key": "docker/ab", "source": "docker", "identity": "web",
        "identity_id": 256, "image": "web:1", "netns": "/var/run/docker/netns/x",
        "addresses": ["198.18.1.2", "fd00::2"], "error": null,
        "interfaces": [{"name": "eth0", "placement": "host-peer", "device": "veth12",
                        "netns": "", "attached": true, "mode": "tcx", "error": null}]}])");
    std::string text = render_endpoints(endpoints);
    EXPECT_NE(text.find("web-1"), std::string::npos);
    EXPECT_NE(text.find("198.18.1.2,fd00::2"), std::string::npos);
    EXPECT_NE(text.find("eth0@veth12"), std::string::npos) << text;
    endpoints[0]["interfaces"][0]["attached"] = false;
    EXPECT_NE(render_endpoints(endpoints).find("not attached"), std::string::npos);
    EXPECT_EQ(render_endpoints(json::array()), "no workloads on this node\n");
}

TEST(Render, IdentitiesMarkReservedOnes) {
    json identities = json::parse(R"([
        {"name": "world", "id": 2, "reserved": true, "workloads": 0, "mode": null,
         "learning_remaining_s": null, "flows": 0},
        {"name": "web", "id": 256, "reserved": false, "workloads": 3, "mode": "learn",
         "learning_remaining_s": 192, "flows": 4}])");
    std::string text = render_identities(identities);
    EXPECT_NE(text.find("(reserved)"), std::string::npos);
    EXPECT_NE(text.find("256  web    learn  3m12s"), std::string::npos) << text;
}

TEST(Render, StatusNamesAnUnavailableSourceAndItsReason) {
    json status = json::parse(R"({
        "api_version": 1, "version": "0.1.0", "node": "n1", "started_at": null,
        "uptime_s": 61, "synced": false, "workloads": 0, "identities": 3,
        "sources": [{"name": "docker", "state": "unavailable", "last_sync": null, "errors": 4,
                     "message": "cannot reach the Docker daemon at /var/run/docker.sock"}],
        "datapath": {"pin_dir": "/sys/fs/bpf/flowwall", "attach_mode": "tcx",
                     "default_mode": "learn", "interfaces_guarded": 0, "interfaces_failed": 0,
                     "programs": [{"name": "from_workload", "id": 7}],
                     "ipcache": {"entries": 2, "capacity": 65536, "error": null}}})");
    std::string text = render_status(status);
    EXPECT_NE(text.find("up 1m1s"), std::string::npos) << text;
    EXPECT_NE(text.find("not yet in sync"), std::string::npos);
    EXPECT_NE(text.find("unavailable"), std::string::npos);
    EXPECT_NE(text.find("cannot reach the Docker daemon"), std::string::npos);
    EXPECT_NE(text.find("from_workload (id 7)"), std::string::npos);
}

} // namespace
} // namespace flowwall::cli

namespace flowwall::cli {
namespace {

TEST(Render, DotDrawsEdgesByWhatHappensAndWorldApart) {
    nlohmann::json graph = nlohmann::json::parse(R"({
        "nodes": [{"id": "web", "kind": "workload", "mode": "learn", "learning_remaining_s": 60,
                   "workloads": 1},
                  {"id": "world", "kind": "world", "mode": null, "learning_remaining_s": null,
                   "workloads": 0},
                  {"id": "d\"b", "kind": "workload", "mode": "block",
                   "learning_remaining_s": null, "workloads": 1}],
        "edges": [{"source": "web", "target": "d\"b", "label": "5432/tcp", "state": "blocked",
                   "count": 1},
                  {"source": "world", "target": "web", "label": "443/tcp", "state": "learned",
                   "count": 3}]})");
    std::string dot = render_dot(graph);
    EXPECT_EQ(dot.rfind("digraph flowwall {", 0), 0u);
    EXPECT_NE(dot.find("\"web\" -> \"d\\\"b\" [label=\"5432/tcp blocked\", color=\"#c62828\", "
                       "style=dashed"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find("\"world\" [label=\"world\", shape=ellipse"), std::string::npos) << dot;
    EXPECT_NE(dot.find("\"web\" [label=\"web\\nlearn 1m0s\"]"), std::string::npos) << dot;
}

} // namespace
} // namespace flowwall::cli
