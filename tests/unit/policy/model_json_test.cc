// SPDX-License-Identifier: Apache-2.0
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "src/policy/model.h"

namespace flowwall::policy {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

TimePoint at(int64_t unix_seconds) {
    return TimePoint(seconds(unix_seconds));
}

Model varied_model() {
    Model model;
    model.record({"web", "db", 3306, kProtocolTcp}, at(1795370400), "n1", "web-1", 12);
    model.record({"web", "db", 3306, kProtocolTcp}, at(1795370700), "n2", "web-2");
    model.record({"registry.local:5000/team/web", "world", 443, kProtocolTcp}, at(1), "n1", "");
    model.record({"web", "db", 0, kProtocolIcmp}, at(1795370400), "n1", "web-1");
    model.record({"web", "db", 0, kProtocolIcmpv6}, at(1795370400), "n1", "web-1");
    model.record({"gre", "peer", 0, 47}, at(1795370400), "n1", "gre");
    model.record({"scan", "db", 0, kProtocolTcp}, at(1795370400), "n1", "x");
    model.record({"dns", "world", 53, kProtocolUdp}, at(9214646399), "", "");
    for (int i = 0; i < 20; ++i)
        model.record({"api", "db", 5432, kProtocolTcp}, at(1795370400 + i), "n" + std::to_string(i),
                     "api-" + std::to_string(i));
    model.allow({"admin", "db", 22, kProtocolTcp}, at(1795370000));
    model.allow({"backup", "db", 873, kProtocolTcp}, at(1795370000), "imported");
    return model;
}

Model parse(const std::string& text) {
    auto model = Model::from_json(text, "test.json");
    EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
    return model.ok() ? std::move(model).value() : Model{};
}

TEST(ModelJson, ExportImportGivesTheSameModel) {
    Model model = varied_model();
    EXPECT_EQ(parse(model.to_json_text()), model);
    EXPECT_EQ(parse(model.to_json().dump()), model);
    // The fast writer and the DOM say the same thing.
    EXPECT_EQ(json::parse(model.to_json_text()), model.to_json());
    // And again: the export of an import is the same text.
    EXPECT_EQ(parse(model.to_json_text()).to_json_text(), model.to_json_text());

    auto document = Model::from_document(model.to_json(), "api");
    ASSERT_TRUE(document.ok());
    EXPECT_EQ(document.value(), model);
}

TEST(ModelJson, EmptyModelRoundTrips) {
    Model empty;
    EXPECT_EQ(json::parse(empty.to_json_text()), json::parse(R"({"version": 1, "flows": []})"));
    EXPECT_EQ(parse(empty.to_json_text()), empty);
}

TEST(ModelJson, OneFlowALineInTheDocumentedForm) {
    Model model;
    model.record({"web", "db", 3306, kProtocolTcp}, at(1795370400), "n1", "web-1", 12);
    EXPECT_EQ(model.to_json_text(),
              "{\n  \"version\": 1,\n  \"flows\": [\n"
              "    {\"src\": \"web\", \"dst\": \"db\", \"port\": 3306, \"protocol\": \"tcp\", "
              "\"first_seen\": \"2026-11-22T18:00:00Z\", \"last_seen\": \"2026-11-22T18:00:00Z\", "
              "\"count\": 12, \"nodes\": [\"n1\"], \"workloads\": [\"web-1\"], "
              "\"origin\": \"learned\"}\n  ]\n}\n");
}

TEST(ModelJson, OptionalFieldsAndFractionsOnInput) {
    Model model = parse(R"({"version": 1, "flows": [
        {"src": "web", "dst": "db", "port": 3306, "protocol": "tcp",
         "first_seen": "2026-11-22T18:00:00.250Z", "last_seen": "2026-11-22T18:00:01.9Z",
         "count": 0}]})");
    const FlowRecord* record = model.find({"web", "db", 3306, kProtocolTcp});
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->first_seen, at(1795370400));
    EXPECT_EQ(record->last_seen, at(1795370401));
    EXPECT_TRUE(record->nodes.empty());
    EXPECT_TRUE(record->workloads.empty());
    EXPECT_EQ(record->origin, "imported");
    EXPECT_EQ(model.flows_of("web"), 1u);
}

json good_flow() {
    return json::parse(R"({"src": "web", "dst": "db", "port": 3306, "protocol": "tcp",
        "first_seen": "2026-11-22T18:00:00Z", "last_seen": "2026-11-22T18:05:00Z",
        "count": 12, "nodes": ["n1"], "workloads": ["web-1"], "origin": "learned"})");
}

// The second flow is the one broken, so every message must name flows[1].
std::string with_second_flow(const std::function<void(json&)>& breaks) {
    json second = good_flow();
    second["dst"] = "cache";
    breaks(second);
    return json{{"version", 1}, {"flows", json::array({good_flow(), second})}}.dump();
}

void expect_error(const std::string& text, const std::vector<std::string>& says) {
    auto model = Model::from_json(text, "/state/model.json");
    ASSERT_FALSE(model.ok()) << text;
    const auto& message = model.error().message;
    EXPECT_EQ(message.rfind("/state/model.json: ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const auto& part : says)
        EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

TEST(ModelJson, TopLevelErrors) {
    expect_error("", {"not valid JSON"});
    expect_error("{\"version\": 1, \"flows\": [", {"not valid JSON"});
    expect_error("[]", {"top level", "array"});
    expect_error("null", {"top level"});
    expect_error(R"({"version": 1, "flows": [], "extra": 1})", {"unknown key \"extra\""});
    expect_error(R"({"flows": []})", {"version", "missing"});
    expect_error(R"({"version": "1", "flows": []})", {"version", "expected the number 1"});
    expect_error(R"({"version": 1.0, "flows": []})", {"version"});
    expect_error(R"({"version": 2, "flows": []})", {"version", "2 is not supported"});
    expect_error(R"({"version": -1, "flows": []})", {"version", "-1 is not supported"});
    expect_error(R"({"version": 1})", {"flows", "missing"});
    expect_error(R"({"version": 1, "flows": {}})", {"flows", "expected an array"});
    expect_error(R"({"version": 1, "flows": [1]})", {"flows[0]", "expected an object"});
}

// Found while fuzzing (docs/fuzzing.md), though too deep for the fuzzers' inputs: showing a
// value nested this deep in the error recursed once per level and overflowed the stack.
TEST(ModelJson, DeeplyNestedValuesAreElidedInErrors) {
    const std::string nested = std::string(500'000, '[') + std::string(500'000, ']');
    expect_error(R"({"version": )" + nested + R"(, "flows": []})", {"found [...]"});
}

TEST(ModelJson, EveryFieldErrorNamesTheFlowAndTheField) {
    struct Case {
        std::function<void(json&)> breaks;
        std::vector<std::string> says;
    };
    const Case cases[] = {
        {[](json& f) { f["colour"] = "red"; }, {"flows[1]", "unknown field \"colour\""}},
        {[](json& f) { f.erase("src"); }, {"flows[1].src", "missing"}},
        {[](json& f) { f["src"] = 5; }, {"flows[1].src", "expected a string"}},
        {[](json& f) { f["src"] = "-web"; }, {"flows[1].src", "starts with '-'"}},
        {[](json& f) { f["src"] = ""; }, {"flows[1].src", "empty"}},
        {[](json& f) { f["dst"] = "d b"; }, {"flows[1].dst"}},
        {[](json& f) { f["dst"] = "line\nbreak"; }, {"flows[1].dst"}},
        {[](json& f) { f["dst"] = nullptr; }, {"flows[1].dst", "expected a string"}},
        {[](json& f) { f.erase("port"); }, {"flows[1].port", "missing"}},
        {[](json& f) { f["port"] = -1; }, {"flows[1].port", "0-65535"}},
        {[](json& f) { f["port"] = 65536; }, {"flows[1].port", "0-65535"}},
        {[](json& f) { f["port"] = 80.5; }, {"flows[1].port"}},
        {[](json& f) { f["port"] = "80"; }, {"flows[1].port"}},
        {[](json& f) { f["protocol"] = "icmp"; }, {"flows[1].port", "icmp has no ports"}},
        {[](json& f) { f.erase("protocol"); }, {"flows[1].protocol", "missing"}},
        {[](json& f) { f["protocol"] = 6; }, {"flows[1].protocol", "expected a string"}},
        {[](json& f) { f["protocol"] = "tcpx"; }, {"flows[1].protocol", "unknown protocol"}},
        {[](json& f) { f["protocol"] = "256"; }, {"flows[1].protocol"}},
        {[](json& f) { f.erase("first_seen"); }, {"flows[1].first_seen", "missing"}},
        {[](json& f) { f["first_seen"] = 1795370400; }, {"flows[1].first_seen", "string"}},
        {[](json& f) { f["first_seen"] = "yesterday"; }, {"flows[1].first_seen", "UTC time"}},
        {[](json& f) { f["last_seen"] = "2026-11-22T18:05:00+01:00"; },
         {"flows[1].last_seen", "end in Z"}},
        {[](json& f) { f["last_seen"] = "2026-11-22T17:00:00Z"; },
         {"flows[1].last_seen", "earlier than first_seen"}},
        {[](json& f) { f.erase("count"); }, {"flows[1].count", "missing"}},
        {[](json& f) { f["count"] = -1; }, {"flows[1].count"}},
        {[](json& f) { f["count"] = 1.5; }, {"flows[1].count"}},
        {[](json& f) { f["count"] = "3"; }, {"flows[1].count"}},
        {[](json& f) { f["nodes"] = "n1"; }, {"flows[1].nodes", "expected an array"}},
        {[](json& f) { f["nodes"] = json::array({1}); }, {"flows[1].nodes[0]", "string"}},
        {[](json& f) {
             f["nodes"] = json::array({"n1", "n 2"});
         },
         {"flows[1].nodes[1]"}},
        {[](json& f) { f["nodes"] = json::array({""}); }, {"flows[1].nodes[0]", "empty"}},
        {[](json& f) {
             f["nodes"] = json::array({"n1", "n1"});
         },
         {"flows[1].nodes[1]", "appears twice"}},
        {[](json& f) { f["workloads"] = json::array({std::string(300, 'w')}); },
         {"flows[1].workloads[0]", "longer than 253"}},
        {[](json& f) {
             f["workloads"] = json::array();
             for (int i = 0; i < 17; ++i)
                 f["workloads"].push_back("w" + std::to_string(i));
         },
         {"flows[1].workloads", "17 names, at most 16"}},
        {[](json& f) { f["origin"] = "guessed"; }, {"flows[1].origin", "learned, manual"}},
        {[](json& f) { f["origin"] = true; }, {"flows[1].origin", "expected a string"}},
        {[](json& f) { f["dst"] = "db"; }, {"flows[1]", "web db 3306/tcp", "already flows[0]"}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.says.front());
        expect_error(with_second_flow(c.breaks), c.says);
    }
}

TEST(ModelJson, DuplicateFlowsAreFoundWhateverTheProtocolSpelling) {
    json first = good_flow();
    json second = good_flow();
    second["protocol"] = "6";
    json third = good_flow();
    third["dst"] = "other";
    expect_error(json{{"version", 1}, {"flows", json::array({third, first, second})}}.dump(),
                 {"flows[2]", "already flows[1]"});
}

TEST(ModelJson, NeverThrowsOrCrashesOnDamagedInput) {
    std::string good = varied_model().to_json_text();
    // Every cut of the file (a torn write) is refused.
    for (size_t n = 0; n + 1 < good.size(); n += 7)
        EXPECT_FALSE(Model::from_json(good.substr(0, n), "cut").ok()) << n;
    // Random byte damage: refused or read, never a crash or an exception.
    std::mt19937 random(1234);
    for (int round = 0; round < 3000; ++round) {
        std::string damaged = good;
        for (int hits = 1 + round % 4; hits > 0; --hits)
            damaged[random() % damaged.size()] = static_cast<char>(random() % 256);
        auto model = Model::from_json(damaged, "damaged");
        if (model.ok())
            EXPECT_TRUE(Model::from_json(model.value().to_json_text(), "again").ok());
        else
            EXPECT_EQ(model.error().message.find('\n'), std::string::npos);
    }
    // Deep nesting, huge numbers, invalid UTF-8.
    EXPECT_FALSE(Model::from_json(std::string(100000, '[') + std::string(100000, ']'), "x").ok());
    EXPECT_FALSE(Model::from_json(R"({"version": 1e999, "flows": []})", "x").ok());
    EXPECT_FALSE(
        Model::from_json(R"({"version": 99999999999999999999999, "flows": []})", "x").ok());
    EXPECT_FALSE(Model::from_json("{\"version\": 1, \"flows\": [\"\xff\"]}", "x").ok());
    json flow = good_flow();
    flow["count"] = 18446744073709551615ull;
    auto max_count =
        Model::from_json(json{{"version", 1}, {"flows", json::array({flow})}}.dump(), "x");
    ASSERT_TRUE(max_count.ok());
    EXPECT_EQ(max_count.value().flows().front().count, 18446744073709551615ull);
}

} // namespace
} // namespace flowwall::policy
