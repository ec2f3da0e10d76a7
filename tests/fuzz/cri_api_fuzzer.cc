// SPDX-License-Identifier: Apache-2.0
// CRI runtime answers (src/identity/cri/pod_workload.h): the whole input as the protobuf wire
// bytes of a PodSandboxStatusResponse and of a ContainerStatusResponse (what a runtime sends
// on the socket), and as the verbose info JSON of a sandbox; its first line as an image
// reference named under each pod naming rule.
//
// Promises checked: nothing throws or crashes, whatever the runtime sends; a refused answer
// gets an error naming what was wrong; a pod becomes a workload only when it is ready, not on
// the host network, runs a container, names a namespace and has an address; a workload's key
// is its sandbox's, and it always has an identity.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "src/identity/cri/pod_workload.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

namespace cri = identity::cri;
namespace v1 = runtime::v1;

void check_pod(const cri::PodInfo& pod) {
    FUZZ_CHECK(!pod.id.empty(), "a sandbox without an id got through");
    for (size_t i = 0; i < pod.addresses.size(); ++i)
        for (size_t j = i + 1; j < pod.addresses.size(); ++j)
            FUZZ_CHECK(!(pod.addresses[i] == pod.addresses[j]), "an address twice");
    for (const std::string& problem : pod.problems)
        FUZZ_CHECK(!problem.empty(), "an empty problem line");
    cri::PodInfo running = pod;
    running.containers.push_back(cri::PodContainer{"c", "app", "docker.io/library/web:1", 1, 1});
    for (const cri::PodInfo* candidate : {&pod, static_cast<const cri::PodInfo*>(&running)}) {
        std::string why_not;
        auto workload = cri::to_workload(*candidate, identity::PodNaming{}, &why_not);
        const bool guardable = candidate->ready && !candidate->host_network &&
                               !candidate->containers.empty() && !candidate->netns_path.empty() &&
                               !candidate->addresses.empty();
        FUZZ_CHECK(workload.has_value() == guardable, candidate->id);
        if (!workload) {
            FUZZ_CHECK(!why_not.empty(), "skipped without a reason");
            continue;
        }
        FUZZ_CHECK(workload->key == "cri/" + candidate->id, workload->key);
        FUZZ_CHECK(!workload->identity.empty(), "a workload without an identity");
        FUZZ_CHECK(workload->addresses == candidate->addresses, candidate->id);
    }
}

void fuzz_sandbox(std::string_view bytes) {
    v1::PodSandboxStatusResponse response;
    if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return; // not protobuf: gRPC itself refuses such an answer
    auto pod = cri::parse_pod_sandbox_status(response);
    if (!pod) {
        FUZZ_CHECK(!pod.error().message.empty(), "sandbox error without a message");
        return;
    }
    check_pod(pod.value());
}

void fuzz_container(std::string_view bytes) {
    v1::ContainerStatusResponse response;
    if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        return;
    auto container = cri::parse_container_status(response);
    if (!container) {
        FUZZ_CHECK(!container.error().message.empty(), "container error without a message");
        return;
    }
    FUZZ_CHECK(!container.value().id.empty(), "a container without an id got through");
}

void fuzz_info(std::string_view text) {
    auto netns = cri::netns_from_verbose_info(text);
    if (!netns)
        FUZZ_CHECK(!netns.error().message.empty(), "info error without a message");
}

void fuzz_naming(std::string_view text) {
    const std::string image(text.substr(0, text.find('\n')));
    const std::map<std::string, std::string> labels = {{"app", image}};
    for (const char* rule : {"image", "bare-image", "label:app"}) {
        auto naming = identity::PodNaming::parse(rule);
        FUZZ_CHECK(naming.ok(), rule);
        const std::string name = naming.value().name_for("shop", image, labels);
        FUZZ_CHECK(!name.empty(), image);
        if (image.empty() && naming.value().from != identity::PodNaming::From::label)
            FUZZ_CHECK(name == "unknown", name);
    }
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input = flowwall::fuzz::as_text(data, size);
    flowwall::fuzz::fuzz_sandbox(input);
    flowwall::fuzz::fuzz_container(input);
    flowwall::fuzz::fuzz_info(input);
    flowwall::fuzz::fuzz_naming(input);
    return 0;
}
