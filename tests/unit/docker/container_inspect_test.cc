// SPDX-License-Identifier: Apache-2.0
// Parsing of real dockerd 20.10 answers (fixtures/, captured from containers started on the
// test machine) and of hand-broken variants of them.
#include "src/identity/docker/container_inspect.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace flowwall::identity::docker {
namespace {

using nlohmann::json;

json fixture(const std::string& name) {
    std::ifstream in(std::string(FLOWWALL_DOCKER_FIXTURES) + "/" + name);
    EXPECT_TRUE(in) << "missing fixture " << name;
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

IpAddress ip(const char* text) {
    return IpAddress::parse(text).value();
}

ContainerInfo parsed(const json& inspect) {
    auto info = parse_container_inspect(inspect);
    EXPECT_TRUE(info.ok()) << info.error().to_string();
    return info.ok() ? info.value() : ContainerInfo{};
}

constexpr const char* kWebId = "561d59d332dde372c2ac0a9f8771d625d318faa75296d42cdc923a8c2e92c734";

TEST(ContainerInspect, ParsesARunningContainerOnAUserNetwork) {
    ContainerInfo info = parsed(fixture("inspect_web.json"));
    EXPECT_EQ(info.id, kWebId);
    EXPECT_EQ(info.name, "fwfix-web");
    EXPECT_EQ(info.image, "flowwall-fixture/web:1");
    EXPECT_EQ(info.labels, (std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}}));
    EXPECT_TRUE(info.running);
    EXPECT_EQ(info.pid, 11136);
    // 2026-11-22T18:36:05.576292951Z
    EXPECT_EQ(info.started_ns, 1795372565576292951);
    EXPECT_EQ(info.sandbox_key, "/var/run/docker/netns/02d751afc35f");
    EXPECT_EQ(info.network_mode, "fwfix-net");
    EXPECT_EQ(info.addresses, std::vector<IpAddress>{ip("198.18.77.2")});
}

TEST(ContainerInspect, CollectsEveryNetworksIPv4AndGlobalIPv6) {
    ContainerInfo info = parsed(fixture("inspect_dual.json"));
    // Networks is a JSON object: nlohmann keeps its keys sorted, so the order is by name.
    EXPECT_EQ(info.addresses, (std::vector<IpAddress>{ip("198.18.77.3"), ip("198.18.78.2"),
                                                      ip("fd00:198:18:78::2")}));
}

TEST(ContainerInspect, DeduplicatesAddresses) {
    json inspect = fixture("inspect_dual.json");
    inspect["NetworkSettings"]["Networks"]["fwfix-v6"]["IPAddress"] = "198.18.77.3";
    EXPECT_EQ(parsed(inspect).addresses,
              (std::vector<IpAddress>{ip("198.18.77.3"), ip("fd00:198:18:78::2")}));
}

TEST(ContainerInspect, DefaultBridgeContainer) {
    ContainerInfo info = parsed(fixture("inspect_default.json"));
    EXPECT_EQ(info.network_mode, "default");
    EXPECT_EQ(info.addresses, std::vector<IpAddress>{ip("198.18.250.2")});
    EXPECT_TRUE(info.labels.empty());
}

TEST(ContainerInspect, NeverStartedContainerHasZeroStartTime) {
    ContainerInfo info = parsed(fixture("inspect_created.json"));
    EXPECT_FALSE(info.running);
    EXPECT_EQ(info.pid, 0);
    EXPECT_EQ(info.started_ns, 0);
    EXPECT_TRUE(info.sandbox_key.empty());
    EXPECT_TRUE(info.addresses.empty());
}

TEST(ContainerInspect, NullLabelsAndNetworksAreEmpty) {
    json inspect = fixture("inspect_web.json");
    inspect["Config"]["Labels"] = nullptr;
    inspect["NetworkSettings"]["Networks"] = nullptr;
    ContainerInfo info = parsed(inspect);
    EXPECT_TRUE(info.labels.empty());
    EXPECT_TRUE(info.addresses.empty());
}

TEST(ContainerInspect, ParsesFromText) {
    auto info = parse_container_inspect(std::string_view(fixture("inspect_web.json").dump()));
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    EXPECT_EQ(info.value().name, "fwfix-web");

    auto broken = parse_container_inspect(std::string_view(R"({"Id": "abc",)"));
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.error().message.find("not JSON"), std::string::npos) << broken.error().message;
}

// Each case breaks one field of a real answer; the error must name that field.
struct Broken {
    const char* field; // as the error names it
    std::function<void(json&)> mutate;
    const char* problem; // a word the error must contain
};

TEST(ContainerInspect, MalformedFieldsAreErrorsNamingTheField) {
    const std::vector<Broken> cases = {
        {"Id", [](json& j) { j.erase("Id"); }, "missing"},
        {"Id", [](json& j) { j["Id"] = 42; }, "expected a string, got number"},
        {"Id", [](json& j) { j["Id"] = "../../etc"; }, "not a container id"},
        {"Name", [](json& j) { j["Name"] = nullptr; }, "got null"},
        {"State", [](json& j) { j.erase("State"); }, "missing"},
        {"State", [](json& j) { j["State"] = "running"; }, "expected an object"},
        {"State.Running", [](json& j) { j["State"]["Running"] = "true"; }, "a boolean"},
        {"State.Restarting", [](json& j) { j["State"]["Restarting"] = 1; }, "a boolean"},
        {"State.Pid", [](json& j) { j["State"]["Pid"] = "11136"; }, "an integer"},
        {"State.Pid", [](json& j) { j["State"]["Pid"] = 1.5; }, "an integer"},
        {"State.Pid", [](json& j) { j["State"]["Pid"] = -3; }, "negative"},
        {"State.StartedAt", [](json& j) { j["State"].erase("StartedAt"); }, "missing"},
        {"State.StartedAt", [](json& j) { j["State"]["StartedAt"] = "yesterday"; }, "RFC 3339"},
        {"Config", [](json& j) { j["Config"] = nullptr; }, "expected an object"},
        {"Config.Image", [](json& j) { j["Config"].erase("Image"); }, "missing"},
        {"Config.Labels", [](json& j) { j["Config"]["Labels"] = json::array(); }, "an object"},
        {"Config.Labels.app", [](json& j) { j["Config"]["Labels"]["app"] = 1; }, "a string"},
        {"HostConfig.NetworkMode", [](json& j) { j["HostConfig"]["NetworkMode"] = 5; }, "a string"},
        {"NetworkSettings", [](json& j) { j.erase("NetworkSettings"); }, "missing"},
        {"NetworkSettings.SandboxKey", [](json& j) { j["NetworkSettings"].erase("SandboxKey"); },
         "missing"},
        {"NetworkSettings.Networks",
         [](json& j) { j["NetworkSettings"]["Networks"] = "fwfix-net"; }, "an object"},
        {"NetworkSettings.Networks.fwfix-net",
         [](json& j) { j["NetworkSettings"]["Networks"]["fwfix-net"] = 7; }, "an object"},
        {"NetworkSettings.Networks.fwfix-net.IPAddress",
         [](json& j) { j["NetworkSettings"]["Networks"]["fwfix-net"]["IPAddress"] = "198.18.77"; },
         "198.18.77"},
        {"NetworkSettings.Networks.fwfix-net.GlobalIPv6Address",
         [](json& j) {
             j["NetworkSettings"]["Networks"]["fwfix-net"]["GlobalIPv6Address"] = json::array();
         },
         "a string"},
    };
    for (const Broken& c : cases) {
        json inspect = fixture("inspect_web.json");
        c.mutate(inspect);
        auto info = parse_container_inspect(inspect);
        ASSERT_FALSE(info.ok()) << c.field << " should fail";
        const std::string& message = info.error().message;
        EXPECT_NE(message.find(std::string(c.field) + ":"), std::string::npos)
            << c.field << ": " << message;
        EXPECT_NE(message.find(c.problem), std::string::npos) << c.field << ": " << message;
    }
}

TEST(ContainerInspect, NonObjectDocumentsAreErrors) {
    for (const json& doc : {json(nullptr), json::array(), json("x"), json(3)}) {
        auto info = parse_container_inspect(doc);
        ASSERT_FALSE(info.ok());
        EXPECT_NE(info.error().message.find("expected an object"), std::string::npos);
    }
}

TEST(DockerTime, ParsesNanosecondsAndShorterFractions) {
    EXPECT_EQ(parse_docker_time("2026-11-22T18:36:09.084725193Z").value(), 1795372569084725193);
    // Go trims trailing zeros: eight digits mean tens of nanoseconds.
    EXPECT_EQ(parse_docker_time("2026-11-22T18:36:08.60075571Z").value(), 1795372568600755710);
    EXPECT_EQ(parse_docker_time("2026-11-22T18:36:08.6Z").value(), 1795372568600000000);
    EXPECT_EQ(parse_docker_time("1970-01-01T00:00:00Z").value(), 0);
    EXPECT_EQ(parse_docker_time("1970-01-01T00:00:01.000000001Z").value(), 1000000001);
    EXPECT_EQ(parse_docker_time("2024-02-29T12:00:00Z").value(), 1709208000000000000);
}

TEST(DockerTime, HonoursOffsets) {
    EXPECT_EQ(parse_docker_time("2026-11-22T20:36:09.5+02:00").value(),
              parse_docker_time("2026-11-22T18:36:09.5Z").value());
    EXPECT_EQ(parse_docker_time("2026-11-22T13:06:09-05:30").value(),
              parse_docker_time("2026-11-22T18:36:09Z").value());
}

TEST(DockerTime, GoZeroTimeMeansNeverStarted) {
    EXPECT_EQ(parse_docker_time("0001-01-01T00:00:00Z").value(), 0);
}

TEST(DockerTime, RejectsWhatIsNotATime) {
    for (const char* bad :
         {"", "2026-11-22", "2026-11-22 18:36:09Z", "2026-11-22T18:36:09", "2026-13-01T00:00:00Z",
          "2026-02-29T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T18:36:09.Z",
          "2026-11-22T18:36:09.1234567891Z", "2026-11-22T18:36:09Zjunk", "2026-11-22T18:36:09+2",
          "２026-11-22T18:36:09Z"}) {
        auto t = parse_docker_time(bad);
        ASSERT_FALSE(t.ok()) << bad;
        EXPECT_NE(t.error().message.find("RFC 3339"), std::string::npos) << t.error().message;
    }
    auto far = parse_docker_time("3000-01-01T00:00:00Z");
    ASSERT_FALSE(far.ok());
    EXPECT_NE(far.error().message.find("1678..2262"), std::string::npos);
    EXPECT_FALSE(parse_docker_time("1000-01-01T00:00:00Z").ok());
}

TEST(ContainerList, ReadsIds) {
    auto ids = parse_container_list(fixture("containers_list.json"));
    ASSERT_TRUE(ids.ok()) << ids.error().to_string();
    EXPECT_EQ(ids.value().size(), 6u);
    EXPECT_NE(std::find(ids.value().begin(), ids.value().end(), kWebId), ids.value().end());

    auto bad = parse_container_list(json::parse(R"([{"Id": "abc"}, {"Names": []}])"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("[1].Id: missing"), std::string::npos)
        << bad.error().message;
    EXPECT_FALSE(parse_container_list(json::object()).ok());
}

} // namespace
} // namespace flowwall::identity::docker
