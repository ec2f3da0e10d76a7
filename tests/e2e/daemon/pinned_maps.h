// SPDX-License-Identifier: Apache-2.0
// Reading the maps a daemon under test pinned, the way an operator's tool would.
#pragma once

#include "flowwall/abi.h"
#include "src/common/unique_fd.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/typed_map.h"

#include <bpf/bpf.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace flowwall::testing {

// The identity the pinned ipcache holds for `address`, if any.
inline std::optional<uint32_t> pinned_ipcache_identity(const std::filesystem::path& pin_dir,
                                                       const std::string& address) {
    auto fd = datapath::open_pinned_object(pin_dir / FW_MAP_IPCACHE);
    if (!fd || !fd.value().valid())
        return std::nullopt;
    datapath::TypedMap<fw_ipcache_key, fw_identity_info> map(fd.value().get(), FW_MAP_IPCACHE, 0);
    auto parsed = IpAddress::parse(address);
    if (!parsed)
        throw std::invalid_argument(parsed.error().message);
    auto value = map.lookup(datapath::ipcache_key(parsed.value()));
    if (!value)
        return std::nullopt;
    return value->identity;
}

} // namespace flowwall::testing
