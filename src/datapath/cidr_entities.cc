// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/cidr_entities.h"

#include "src/datapath/map_keys.h"

namespace flowwall::datapath {

Status CidrEntities::put(const IpPrefix& prefix, uint32_t identity) {
    if (identity < FW_ID_FIRST_ALLOCATED)
        return Error{EINVAL, "CIDR entity " + prefix.to_string() + ": identity " +
                                 std::to_string(identity) + " is reserved; allocate one"};
    return map_.update(cidr_key(prefix), fw_identity_info{identity, 0});
}

Status CidrEntities::erase(const IpPrefix& prefix) {
    return map_.erase(cidr_key(prefix));
}

std::optional<uint32_t> CidrEntities::lookup(const IpPrefix& prefix) const {
    auto info = map_.lookup(cidr_key(prefix));
    if (!info)
        return std::nullopt;
    return info->identity;
}

std::vector<std::pair<IpPrefix, uint32_t>> CidrEntities::entries() const {
    std::vector<std::pair<IpPrefix, uint32_t>> out;
    for (const auto& [key, info] : map_.entries())
        out.emplace_back(prefix_of(key), info.identity);
    return out;
}

} // namespace flowwall::datapath
