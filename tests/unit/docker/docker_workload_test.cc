// SPDX-License-Identifier: Apache-2.0
// How a container becomes a Workload (or does not), and which /events lines matter.
#include "src/identity/docker/container_inspect.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace flowwall::identity::docker {
namespace {

using nlohmann::json;

ContainerInfo info_from(const std::string& name, const std::function<void(json&)>& edit = {}) {
    std::ifstream in(std::string(FLOWWALL_DOCKER_FIXTURES) + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    json inspect = json::parse(text.str());
    if (edit)
        edit(inspect);
    auto info = parse_container_inspect(inspect);
    EXPECT_TRUE(info.ok()) << info.error().to_string();
    return info.ok() ? info.value() : ContainerInfo{};
}

TEST(DockerWorkload, RunningContainerBecomesAWorkload) {
    auto workload = to_workload(info_from("inspect_web.json"), IdentityNaming{});
    ASSERT_TRUE(workload);
    EXPECT_EQ(workload->key,
              "docker/561d59d332dde372c2ac0a9f8771d625d318faa75296d42cdc923a8c2e92c734");
    EXPECT_EQ(workload->source, "docker");
    EXPECT_EQ(workload->name, "fwfix-web");
    EXPECT_EQ(workload->identity, "flowwall-fixture/web");
    EXPECT_EQ(workload->image, "flowwall-fixture/web:1");
    EXPECT_EQ(workload->netns_path, "/var/run/docker/netns/02d751afc35f");
    // The daemon guards every interface but loopback, inside the container's namespace.
    EXPECT_TRUE(workload->interfaces.empty());
    EXPECT_TRUE(workload->host_interfaces.empty());
    EXPECT_EQ(workload->addresses, std::vector<IpAddress>{IpAddress::parse("198.18.77.2").value()});
    EXPECT_EQ(workload->started_ns, 1795372565576292951);
}

TEST(DockerWorkload, NamingRuleDecidesTheIdentity) {
    const ContainerInfo web = info_from("inspect_web.json");
    EXPECT_EQ(to_workload(web, IdentityNaming::parse("image-tag").value())->identity,
              "flowwall-fixture/web:1");
    EXPECT_EQ(to_workload(web, IdentityNaming::parse("label:app").value())->identity, "web");
    // Label absent: the image rule, never an unnamed workload.
    EXPECT_EQ(to_workload(web, IdentityNaming::parse("label:team").value())->identity,
              "flowwall-fixture/web");
}

TEST(DockerWorkload, WithoutSandboxKeyTheNamespaceIsThePidsOne) {
    auto workload = to_workload(
        info_from("inspect_web.json", [](json& j) { j["NetworkSettings"]["SandboxKey"] = ""; }),
        IdentityNaming{});
    ASSERT_TRUE(workload);
    EXPECT_EQ(workload->netns_path, "/proc/11136/ns/net");
}

TEST(DockerWorkload, NoNamespaceAtAllIsNoWorkload) {
    EXPECT_FALSE(to_workload(info_from("inspect_web.json",
                                       [](json& j) {
                                           j["NetworkSettings"]["SandboxKey"] = "";
                                           j["State"]["Pid"] = 0;
                                       }),
                             IdentityNaming{}));
}

TEST(DockerWorkload, StoppedContainersAreNotWorkloads) {
    EXPECT_FALSE(to_workload(info_from("inspect_exited.json"), IdentityNaming{}));
    EXPECT_FALSE(to_workload(info_from("inspect_created.json"), IdentityNaming{}));
    // Running is what decides, not a leftover SandboxKey or pid.
    EXPECT_FALSE(
        to_workload(info_from("inspect_web.json", [](json& j) { j["State"]["Running"] = false; }),
                    IdentityNaming{}));
    // A restart policy's wait between two runs (captured from `--restart always` of a command
    // that exits): Docker says Running, with pid 0 and the SandboxKey of a namespace that is
    // already gone.
    const ContainerInfo restarting = info_from("inspect_restarting.json");
    EXPECT_TRUE(restarting.running && restarting.restarting);
    EXPECT_EQ(restarting.pid, 0);
    EXPECT_FALSE(restarting.sandbox_key.empty());
    EXPECT_FALSE(to_workload(restarting, IdentityNaming{}));
}

TEST(DockerWorkload, HostNetworkContainersAreTheNode) {
    const ContainerInfo host = info_from("inspect_host.json");
    ASSERT_TRUE(host.running);
    EXPECT_EQ(host.network_mode, "host");
    EXPECT_FALSE(to_workload(host, IdentityNaming{}));
}

TEST(DockerWorkload, ContainersSharingAnotherContainersNetworkAreNotWorkloads) {
    const ContainerInfo shared = info_from("inspect_shared.json");
    ASSERT_TRUE(shared.running);
    EXPECT_TRUE(shared.network_mode.starts_with("container:"));
    EXPECT_FALSE(to_workload(shared, IdentityNaming{}));
}

TEST(DockerWorkload, NetworkNoneIsAWorkloadWithoutAddresses) {
    auto workload = to_workload(info_from("inspect_none.json"), IdentityNaming{});
    ASSERT_TRUE(workload);
    EXPECT_EQ(workload->netns_path, "/var/run/docker/netns/cd32e5e08c32");
    EXPECT_TRUE(workload->addresses.empty());
}

std::vector<std::string> fixture_lines(const std::string& name) {
    std::ifstream in(std::string(FLOWWALL_DOCKER_FIXTURES) + "/" + name);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST(DockerEvents, KeepsContainerAndNetworkChangesOfRealStream) {
    // Captured during: restart fwfix-web, network disconnect/connect fwfix-dual, pause and
    // unpause fwfix-default, stop and rm fwfix-none, rename twice, two docker exec.
    std::vector<ContainerEvent> kept;
    size_t ignored = 0;
    for (const std::string& line : fixture_lines("events.ndjson")) {
        auto event = parse_event_line(line);
        ASSERT_TRUE(event.ok()) << event.error().to_string() << "\n" << line;
        if (event.value())
            kept.push_back(*event.value());
        else
            ++ignored;
    }
    const std::string web = "561d59d332dde372c2ac0a9f8771d625d318faa75296d42cdc923a8c2e92c734";
    const std::string dual = "20d6f081688abe4776adbd684b69344a2f3ad7a167f2d35616fa986cf4836ba6";
    ASSERT_GE(kept.size(), 8u);
    EXPECT_EQ(kept[0], (ContainerEvent{"container", "kill", web}));
    // A network event names the container in its attributes, not as its actor.
    EXPECT_EQ(kept[3], (ContainerEvent{"network", "disconnect", web}));
    EXPECT_EQ(kept[6], (ContainerEvent{"container", "start", web}));
    EXPECT_EQ(kept[8], (ContainerEvent{"network", "disconnect", dual}));
    EXPECT_EQ(ignored, 5u); // exec_create x2, exec_start x2, exec_die
    size_t renames = 0;
    for (const auto& e : kept)
        renames += e.action == "rename";
    EXPECT_EQ(renames, 2u);
}

TEST(DockerEvents, IgnoresIrrelevantEvents) {
    for (const char* line : {
             R"({"Type":"container","Action":"exec_start: sh","Actor":{"ID":"abc"}})",
             R"({"Type":"container","Action":"health_status: healthy","Actor":{"ID":"abc"}})",
             R"({"Type":"container","Action":"create","Actor":{"ID":"abc"}})",
             R"({"Type":"image","Action":"start","Actor":{"ID":"sha256:abc"}})",
             R"({"Type":"network","Action":"create","Actor":{"ID":"abc","Attributes":{}}})",
             R"({"Type":"volume","Action":"destroy","Actor":{"ID":"v"}})",
         }) {
        auto event = parse_event_line(line);
        ASSERT_TRUE(event.ok()) << line << ": " << event.error().to_string();
        EXPECT_FALSE(event.value()) << line;
    }
}

TEST(DockerEvents, MalformedEventsAreErrors) {
    struct Case {
        const char* line;
        const char* expected;
    };
    for (const Case& c : std::vector<Case>{
             {"not json", "not JSON"},
             {"[1,2]", "expected an object"},
             {R"({"Action":"start"})", "Type: missing"},
             {R"({"Type":"container","Action":5})", "Action: expected a string"},
             {R"({"Type":"container","Action":"start"})", "Actor: missing"},
             {R"({"Type":"container","Action":"start","Actor":{"ID":7}})", "Actor.ID"},
             {R"({"Type":"container","Action":"start","Actor":{"ID":"a/b"}})",
              "not a container id"},
             {R"({"Type":"network","Action":"connect","Actor":{"ID":"n"}})",
              "Actor.Attributes: missing"},
             {R"({"Type":"network","Action":"connect","Actor":{"ID":"n","Attributes":{}}})",
              "Actor.Attributes.container: missing"},
         }) {
        auto event = parse_event_line(c.line);
        ASSERT_FALSE(event.ok()) << c.line;
        EXPECT_NE(event.error().message.find(c.expected), std::string::npos)
            << c.line << ": " << event.error().message;
    }
}

TEST(DockerEvents, EveryKeptActionIsInTheServerFilter) {
    const auto& actions = relevant_event_actions();
    for (const char* action : {"start", "restart", "unpause", "die", "stop", "kill", "destroy",
                               "rename", "connect", "disconnect"})
        EXPECT_NE(std::find(actions.begin(), actions.end(), action), actions.end()) << action;
}

} // namespace
} // namespace flowwall::identity::docker
