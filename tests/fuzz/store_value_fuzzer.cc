// SPDX-License-Identifier: Apache-2.0
// What a node reads from the cluster store (src/cluster/): the input is "<key>\n<value>", as
// any writer to etcd could make it.
//
// Promises checked: a refused entry's error names its key and leaves no claim behind; an
// accepted endpoint becomes a claim with a valid, non-reserved identity and an address a
// workload on another node can hold, keyed by an address in canonical form; a node record that
// decodes has a health of ok or degraded; a refused flow or identity entry leaves no claim in
// the cluster's model, and an accepted flow is exactly the flow its key names, with a record
// a model file would accept (valid names, one node: the key's).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "src/cluster/cluster_keys.h"
#include "src/cluster/remote_endpoints.h"
#include "src/cluster/shared_model.h"
#include "src/cluster/store_values.h"
#include "src/common/identity_name.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace flowwall;
    using namespace flowwall::cluster;
    const std::string_view text = flowwall::fuzz::as_text(data, size);
    auto newline = text.find('\n');
    std::string key(text.substr(0, newline));
    std::string value(newline == std::string_view::npos ? std::string_view()
                                                        : text.substr(newline + 1));

    RemoteEndpoints remote("self");
    auto put = remote.put({key, value, 7, 7, 0});
    if (!put) {
        FUZZ_CHECK(put.error().message.find("key \"") != std::string::npos, put.error().message);
        FUZZ_CHECK(remote.size() == 0, "a refused entry left a claim");
    }
    for (const auto& [address, winner] : remote.resolve({}).winners) {
        FUZZ_CHECK(common::validate_identity_name(winner.record.identity).ok(),
                   winner.record.identity);
        FUZZ_CHECK(winner.record.identity != "world" && winner.record.identity != "host" &&
                       winner.record.identity != "unknown",
                   winner.record.identity);
        FUZZ_CHECK(validate_workload_address(address).ok(), address.to_string());
        FUZZ_CHECK(endpoint_key(winner.node, address) == key, key);
        FUZZ_CHECK(winner.node != "self", "this node's own key became a remote claim");
    }
    SharedModel model;
    auto claimed = model.put({key, value, 7, 7, 0});
    if (!claimed) {
        FUZZ_CHECK(claimed.error().message.find("key \"") != std::string::npos,
                   claimed.error().message);
        FUZZ_CHECK(model.claims() == 0, "a refused entry left a claim");
    } else if (auto parsed = parse_key(key); parsed && parsed.value().kind == KeyKind::flow) {
        auto changes = model.take_changes();
        FUZZ_CHECK(changes.size() == 1, key);
        FUZZ_CHECK(changes[0].key == parsed.value().flow, key);
        FUZZ_CHECK(flow_key(parsed.value().node, changes[0].key) == key, key);
        if (changes[0].record) {
            FUZZ_CHECK(policy::validate_flow_key(changes[0].record->key).ok(), key);
            FUZZ_CHECK(changes[0].record->nodes == std::set<std::string>{parsed.value().node},
                       "a value spoke for another node");
            FUZZ_CHECK(policy::is_origin(changes[0].record->origin), changes[0].record->origin);
        }
    } else if (parsed && parsed.value().kind == KeyKind::identity) {
        FUZZ_CHECK(common::validate_identity_name(parsed.value().identity).ok(), key);
        FUZZ_CHECK(model.first_seen(parsed.value().identity).has_value(), key);
    }
    if (auto parsed = parse_key(key); parsed && parsed.value().kind == KeyKind::node) {
        if (auto record = decode_node(parsed.value().node, value)) {
            FUZZ_CHECK(record.value().health == "ok" || record.value().health == "degraded",
                       record.value().health);
            FUZZ_CHECK(record.value().name == parsed.value().node, record.value().name);
        }
    }
    return 0;
}
