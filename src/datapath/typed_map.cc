// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/typed_map.h"

namespace flowwall::datapath {

Error map_update_error(const std::string& map_name, int errnum, uint32_t max_entries) {
    if (errnum == E2BIG || errnum == ENOSPC || errnum == ENOMEM)
        return Error::from_errno(errnum, "map " + map_name + " is full (" +
                                             std::to_string(max_entries) +
                                             " entries): raise its capacity in the config");
    return Error::from_errno(errnum, "update map " + map_name);
}

} // namespace flowwall::datapath
