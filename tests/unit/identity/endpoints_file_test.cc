// SPDX-License-Identifier: Apache-2.0
#include "src/identity/static/endpoints_file.h"

#include <fstream>

#include <gtest/gtest.h>

namespace flowwall::identity {
namespace {

const std::string kOrigin = "endpoints file /etc/flowwall/endpoints.json";

std::string error_of(const std::string& json) {
    auto parsed = parse_endpoints_file(json, kOrigin);
    if (parsed.ok()) {
        ADD_FAILURE() << "accepted: " << json;
        return {};
    }
    EXPECT_EQ(parsed.error().message.rfind(kOrigin + ": ", 0), 0u) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << parsed.error().message;
    return parsed.error().message;
}

// One endpoint with `fields` added to a valid base.
std::string one(const std::string& fields) {
    return R"({"endpoints": [{"name": "web-1", "identity": "web", "netns": "/run/netns/web",
              "addresses": ["198.18.1.2"])" +
           (fields.empty() ? "" : ", " + fields) + "}]}";
}

TEST(EndpointsFile, ParsesTheDocumentedExample) {
    auto parsed = parse_endpoints_file(R"({"endpoints": [
      {"name": "web-1", "identity": "web", "netns": "/run/netns/web", "interfaces": ["eth0"],
       "addresses": ["198.18.1.2", "fd00:198:18:1::2"]},
      {"name": "legacy-db", "identity": "db", "host-interfaces": ["veth-db"],
       "addresses": ["198.18.2.2"]}
    ]})",
                                       kOrigin, 1234);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    const auto& workloads = parsed.value();
    ASSERT_EQ(workloads.size(), 2u);

    const auto& web = workloads[0];
    EXPECT_EQ(web.key, "file/web-1");
    EXPECT_EQ(web.source, "endpoints-file");
    EXPECT_EQ(web.name, "web-1");
    EXPECT_EQ(web.identity, "web");
    EXPECT_EQ(web.image, "");
    EXPECT_EQ(web.netns_path, "/run/netns/web");
    EXPECT_EQ(web.interfaces, std::vector<std::string>{"eth0"});
    EXPECT_TRUE(web.host_interfaces.empty());
    ASSERT_EQ(web.addresses.size(), 2u);
    EXPECT_EQ(web.addresses[0].to_string(), "198.18.1.2");
    EXPECT_EQ(web.addresses[1].to_string(), "fd00:198:18:1::2");
    EXPECT_EQ(web.started_ns, 1234);

    const auto& db = workloads[1];
    EXPECT_EQ(db.key, "file/legacy-db");
    EXPECT_EQ(db.identity, "db");
    EXPECT_TRUE(db.netns_path.empty());
    EXPECT_EQ(db.host_interfaces, std::vector<std::string>{"veth-db"});
}

TEST(EndpointsFile, TheShippedExampleParses) {
    std::ifstream in(std::string(FLOWWALL_SOURCE_DIR) + "/deploy/examples/endpoints.json");
    ASSERT_TRUE(in.good());
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto parsed = parse_endpoints_file(text, "example");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_FALSE(parsed.value().empty());
}

TEST(EndpointsFile, AnEmptyListIsValid) {
    auto parsed = parse_endpoints_file(R"({"endpoints": []})", kOrigin);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed.value().empty());
}

TEST(EndpointsFile, InterfacesDefaultToEveryInterfaceOfTheNamespace) {
    auto parsed = parse_endpoints_file(one(""), kOrigin);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_TRUE(parsed.value()[0].interfaces.empty());
}

TEST(EndpointsFile, RejectsBadDocuments) {
    EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of("[]").find("top level must be an object"), std::string::npos);
    EXPECT_NE(error_of(R"({"endpoint": []})").find("unknown key \"endpoint\""), std::string::npos);
    EXPECT_NE(error_of(R"({})").find("\"endpoints\" must be a list"), std::string::npos);
    EXPECT_NE(error_of(R"({"endpoints": {}})").find("\"endpoints\" must be a list"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"endpoints": [3]})").find("endpoints[0]: is 3, expected an object"),
              std::string::npos);
    // Found by tests/fuzz (endpoints_file): a number too large for a double threw past the
    // parse_error handler and aborted the daemon.
    EXPECT_NE(error_of(R"({"endpoints": [], "x": 1e999})").find("not valid JSON: number overflow"),
              std::string::npos);
    // Found while fuzzing, though too deep for the fuzzers' inputs: showing a value nested
    // this deep recursed once per level and overflowed the stack.
    const std::string nested = std::string(500'000, '[') + std::string(500'000, ']');
    EXPECT_NE(error_of(R"({"endpoints": [)" + nested + "]}").find("is [...], expected an object"),
              std::string::npos);
}

TEST(EndpointsFile, RejectsBadEndpointsAndSaysWhichAndWhy) {
    const std::pair<std::string, std::string> cases[] = {
        {one(R"("adresses": [])"), "endpoints[0] \"web-1\": unknown key \"adresses\""},
        {R"({"endpoints": [{"identity": "web", "netns": "/n", "addresses": ["198.18.1.2"]}]})",
         "\"name\" is missing"},
        {R"({"endpoints": [{"name": "w", "netns": "/n", "addresses": ["198.18.1.2"]}]})",
         "\"identity\" is missing"},
        {R"({"endpoints": [{"name": "w", "identity": "web", "netns": "/n"}]})",
         "\"addresses\" is missing"},
        {R"({"endpoints": [{"name": 7, "identity": "web", "netns": "/n",
             "addresses": ["198.18.1.2"]}]})",
         "\"name\" is 7, expected a string"},
        {R"({"endpoints": [{"name": "web 1", "identity": "web", "netns": "/n",
             "addresses": ["198.18.1.2"]}]})",
         "may only hold letters"},
        {R"({"endpoints": [{"name": "w", "identity": "my web", "netns": "/n",
             "addresses": ["198.18.1.2"]}]})",
         "\"identity\": identity name \"my web\" contains ' '"},
        {R"({"endpoints": [{"name": "w", "identity": "world", "netns": "/n",
             "addresses": ["198.18.1.2"]}]})",
         "\"world\" is reserved"},
        {R"({"endpoints": [{"name": "w", "identity": "host", "netns": "/n",
             "addresses": ["198.18.1.2"]}]})",
         "\"host\" is reserved"},
        {R"({"endpoints": [{"name": "w", "identity": "cidr:198.18.0.0/15", "netns": "/n",
             "addresses": ["198.18.1.2"]}]})",
         "CIDR entity"},
        {R"({"endpoints": [{"name": "w", "identity": "web", "addresses": ["198.18.1.2"]}]})",
         "needs \"netns\" or \"host-interfaces\""},
        {R"({"endpoints": [{"name": "w", "identity": "web", "interfaces": ["eth0"],
             "host-interfaces": ["veth0"], "addresses": ["198.18.1.2"]}]})",
         "\"interfaces\" are inside \"netns\", which is missing"},
        {R"({"endpoints": [{"name": "w", "identity": "web", "netns": "run/netns/w",
             "addresses": ["198.18.1.2"]}]})",
         "\"netns\": \"run/netns/w\" is not an absolute path"},
        {one(R"("interfaces": "eth0")"), "\"interfaces\" is \"eth0\", expected a list of strings"},
        {one(R"("interfaces": ["eth0", 1])"), "expected a list of strings"},
        {one(R"("interfaces": ["eth0", "eth0"])"), "lists \"eth0\" twice"},
        {one(R"("interfaces": ["a-very-long-interface"])"), "is not an interface name"},
        {one(R"("host-interfaces": ["ve/th"])"), "\"host-interfaces\": \"ve/th\" is not an"},
        {R"({"endpoints": [{"name": "w", "identity": "web", "netns": "/n", "addresses": []}]})",
         "\"addresses\" is empty"},
        {R"({"endpoints": [{"name": "w", "identity": "web", "netns": "/n",
             "addresses": ["198.18.1.300"]}]})",
         "\"addresses\": not an IPv4 or IPv6 address: '198.18.1.300'"},
    };
    for (const auto& [json, expected] : cases) {
        auto message = error_of(json);
        EXPECT_NE(message.find(expected), std::string::npos)
            << "want \"" << expected << "\" in: " << message;
    }
}

TEST(EndpointsFile, NamesAndAddressesHaveOneOwner) {
    auto twice = error_of(R"({"endpoints": [
      {"name": "a", "identity": "web", "netns": "/n/a", "addresses": ["198.18.1.2"]},
      {"name": "a", "identity": "web", "netns": "/n/b", "addresses": ["198.18.1.3"]}]})");
    EXPECT_NE(twice.find("endpoints[1] \"a\": the name is used by an earlier endpoint"),
              std::string::npos)
        << twice;

    auto shared = error_of(R"({"endpoints": [
      {"name": "a", "identity": "web", "netns": "/n/a", "addresses": ["fd00::1"]},
      {"name": "b", "identity": "db", "netns": "/n/b", "addresses": ["fd00:0::1"]}]})");
    EXPECT_NE(shared.find("endpoints[1] \"b\": address fd00::1 also belongs to \"a\""),
              std::string::npos)
        << shared;
}

} // namespace
} // namespace flowwall::identity
