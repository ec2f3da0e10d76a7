// SPDX-License-Identifier: Apache-2.0
// flowwalld --cleanup: take this flowwalld instance off the node. Detaches every tcx link
// pinned in its pin dir, removes the cls_bpf filters (clsact fallback) its pin dir records
// (filter_records.h), and removes every pin (programs, maps). What other instances on the same
// kernel attached is theirs and stays. The state directory (identities, the learned model) is
// kept: it is the operator's data.
#pragma once

#include "src/common/result.h"
#include "src/config/daemon_config.h"

#include <string>
#include <vector>

namespace flowwall::daemon {

struct CleanupReport {
    size_t links_detached = 0;
    size_t filters_removed = 0;
    bool pins_removed = false;
    std::vector<std::string> problems; // what could not be removed, and why
};

CleanupReport cleanup_node(const config::DaemonConfig& config);

} // namespace flowwall::daemon
