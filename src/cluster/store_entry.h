// SPDX-License-Identifier: Apache-2.0
// One key of the store as the cluster code sees it: what the etcd client reads and what the
// pure parts (remote endpoints, node list) take, so those never see gRPC types.
#pragma once

#include <cstdint>
#include <string>

namespace flowwall::cluster {

struct StoreEntry {
    std::string key;
    std::string value;
    int64_t create_revision = 0; // etcd's: one counter for the whole cluster
    int64_t mod_revision = 0;
    int64_t lease = 0;
};

} // namespace flowwall::cluster
