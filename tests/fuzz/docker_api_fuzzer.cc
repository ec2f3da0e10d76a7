// SPDX-License-Identifier: Apache-2.0
// Docker Engine API answers (src/identity/docker/container_inspect.h): the whole input as
// the body of `GET /containers/{id}/json`, `GET /containers/json` and `GET
// /networks/docker_gwbridge` (gateway_bridge.h), each of its lines
// as a line of the `GET /events` stream (the client hands the source one line at a time),
// and its first line as a time stamp.
//
// Promises checked: nothing throws, whatever the daemon sends; a refused answer gets an
// error naming what was wrong; ids that get through are plausible container ids (they go
// into URL paths and workload keys); a container becomes a workload only when it runs with
// a namespace of its own; docker_gwbridge addresses are keyed by 64-hex container ids;
// Docker's and the model's time parsers agree on the second.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/identity/docker/container_inspect.h"
#include "src/identity/docker/gateway_bridge.h"
#include "src/policy/flow_text.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

namespace docker = identity::docker;

bool plausible_id(const std::string& id) {
    return !id.empty() && id.size() <= 128 &&
           std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c); });
}

void check_workload(const docker::ContainerInfo& info, const identity::IdentityNaming& naming) {
    auto workload = docker::to_workload(info, naming);
    const bool guardable = info.running && !info.restarting && info.network_mode != "host" &&
                           !info.network_mode.starts_with("container:") &&
                           (!info.sandbox_key.empty() || info.pid > 0);
    FUZZ_CHECK(workload.has_value() == guardable, info.id);
    if (!workload)
        return;
    FUZZ_CHECK(workload->key == "docker/" + info.id, workload->key);
    FUZZ_CHECK(!workload->netns_path.empty(), "a workload without a namespace");
    FUZZ_CHECK(!workload->identity.empty(), "a workload without an identity");
    FUZZ_CHECK(workload->addresses == info.addresses, info.id);
}

void fuzz_inspect(std::string_view text) {
    auto info = docker::parse_container_inspect(text);
    if (!info) {
        FUZZ_CHECK(!info.error().message.empty(), "inspect error without a message");
        return;
    }
    const auto& container = info.value();
    FUZZ_CHECK(plausible_id(container.id), container.id);
    FUZZ_CHECK(container.pid >= 0, std::to_string(container.pid));
    for (size_t i = 0; i < container.addresses.size(); ++i)
        FUZZ_CHECK(std::count(container.addresses.begin(), container.addresses.end(),
                              container.addresses[i]) == 1,
                   "an address listed twice");
    for (auto from :
         {identity::IdentityNaming::From::image, identity::IdentityNaming::From::image_with_tag,
          identity::IdentityNaming::From::label})
        check_workload(container, identity::IdentityNaming{from, "app"});
}

void fuzz_list(std::string_view text) {
    auto document = nlohmann::json::parse(text, nullptr, false);
    if (document.is_discarded())
        return;
    auto ids = docker::parse_container_list(document);
    if (!ids) {
        FUZZ_CHECK(!ids.error().message.empty(), "list error without a message");
        return;
    }
    for (const auto& id : ids.value())
        FUZZ_CHECK(plausible_id(id), id);
}

void fuzz_gateway_bridge(std::string_view text) {
    auto document = nlohmann::json::parse(text, nullptr, false);
    if (document.is_discarded())
        return;
    (void)docker::on_swarm_scope_network(document); // never throws, whatever the shape
    auto addresses = docker::parse_gateway_bridge(document);
    if (!addresses) {
        FUZZ_CHECK(!addresses.error().message.empty(), "docker_gwbridge error without a message");
        return;
    }
    for (const auto& [id, own] : addresses.value()) {
        FUZZ_CHECK(id.size() == 64 && plausible_id(id), id);
        FUZZ_CHECK(own.size() <= 2, id);
    }
}

void fuzz_event_line(std::string_view line) {
    auto event = docker::parse_event_line(line);
    if (!event) {
        FUZZ_CHECK(!event.error().message.empty(), "event error without a message");
        return;
    }
    if (!event.value())
        return;
    const auto& relevant = docker::relevant_event_actions();
    FUZZ_CHECK(plausible_id(event.value()->container_id), event.value()->container_id);
    FUZZ_CHECK(std::find(relevant.begin(), relevant.end(), event.value()->action) != relevant.end(),
               event.value()->action);
    FUZZ_CHECK(event.value()->type == "container" || event.value()->type == "network",
               event.value()->type);
}

void fuzz_time(std::string_view text) {
    auto docker_time = docker::parse_docker_time(text);
    if (!docker_time) {
        FUZZ_CHECK(!docker_time.error().message.empty(), "time error without a message");
        return;
    }
    auto model_time = policy::parse_time(text);
    if (!model_time)
        return;
    using std::chrono::seconds;
    const int64_t docker_seconds = docker_time.value() / 1'000'000'000;
    const int64_t model_seconds =
        std::chrono::duration_cast<seconds>(model_time.value().time_since_epoch()).count();
    FUZZ_CHECK(docker_seconds == model_seconds, text);
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall::fuzz;
    const std::string_view text = as_text(data, size);
    fuzz_inspect(text);
    fuzz_list(text);
    fuzz_gateway_bridge(text);
    fuzz_time(text.substr(0, text.find('\n')));
    // The client splits the stream at '\n' and drops empty lines and a lone "\r".
    for (std::string_view rest = text; !rest.empty();) {
        auto end = rest.find('\n');
        auto line = rest.substr(0, end);
        if (!line.empty() && line != "\r")
            fuzz_event_line(line);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    return 0;
}
