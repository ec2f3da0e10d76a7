// SPDX-License-Identifier: Apache-2.0
// fw_cidr_v1 in the daemon's terms: named outside networks (CIDR entities). An address no
// workload owns takes the identity of the longest entity prefix that holds it, else world
// (bpf/lib/identity.h), both when a connection is judged and when it is learned. Entity
// identities come from the same registry as workloads' (src/identity/identity_registry.h).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "flowwall/abi.h"
#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/datapath/typed_map.h"

namespace flowwall::datapath {

class CidrEntities {
public:
    CidrEntities() = default;
    explicit CidrEntities(TypedMap<fw_cidr_key, fw_identity_info> map) : map_(std::move(map)) {}

    // Adds or moves a prefix. Error: a reserved identity (below FW_ID_FIRST_ALLOCATED, which
    // would make an outside network the node or world), or the map is full.
    Status put(const IpPrefix& prefix, uint32_t identity);
    Status erase(const IpPrefix& prefix);
    std::optional<uint32_t> lookup(const IpPrefix& prefix) const;
    std::vector<std::pair<IpPrefix, uint32_t>> entries() const;

private:
    TypedMap<fw_cidr_key, fw_identity_info> map_;
};

} // namespace flowwall::datapath
