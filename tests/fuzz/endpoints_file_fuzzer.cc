// SPDX-License-Identifier: Apache-2.0
// The endpoints file (src/identity/static/endpoints_file.h): the whole input is the file.
//
// Promises checked: a refused file gets an error that starts with the file's name; an
// accepted one yields workloads the daemon can use as they are (unique names and keys, a
// valid identity, somewhere to guard, at least one address, no address claimed twice), and
// every address prints to text that parses back to it.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "src/common/identity_name.h"
#include "src/identity/identity_naming.h"
#include "src/identity/static/endpoints_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace flowwall::fuzz {
namespace {

const std::string kOrigin = "endpoints file /etc/flowwall/endpoints.json";

void check_workload(const identity::Workload& workload) {
    FUZZ_CHECK(workload.source == identity::kEndpointsFileSource, workload.source);
    FUZZ_CHECK(workload.key == "file/" + workload.name, workload.key);
    FUZZ_CHECK(!workload.name.empty(), "a workload without a name");
    FUZZ_CHECK(common::validate_identity_name(workload.identity).ok(), workload.identity);
    FUZZ_CHECK(!workload.netns_path.empty() || !workload.host_interfaces.empty(),
               "a workload with nowhere to guard it");
    FUZZ_CHECK(workload.netns_path.empty() || workload.netns_path.front() == '/',
               workload.netns_path);
    FUZZ_CHECK(!workload.addresses.empty(), "a workload without an address");
    for (const auto& address : workload.addresses) {
        auto again = IpAddress::parse(address.to_string());
        FUZZ_CHECK(again.ok() && again.value() == address, address.to_string());
    }
}

} // namespace
} // namespace flowwall::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall::fuzz;
    const std::string_view text = as_text(data, size);
    auto parsed = flowwall::identity::parse_endpoints_file(text, kOrigin, 1234);
    if (!parsed) {
        const auto& message = parsed.error().message;
        FUZZ_CHECK(message.starts_with(kOrigin + ": ") && message.size() > kOrigin.size() + 2,
                   message);
        return 0;
    }
    std::set<std::string> names, addresses;
    for (const auto& workload : parsed.value()) {
        check_workload(workload);
        FUZZ_CHECK(workload.started_ns == 1234, "started_ns not taken from the caller");
        FUZZ_CHECK(names.insert(workload.name).second, "two endpoints named " + workload.name);
        for (const auto& address : workload.addresses)
            FUZZ_CHECK(addresses.insert(address.to_string()).second,
                       "two endpoints claim " + address.to_string());
    }
    return 0;
}
