// SPDX-License-Identifier: Apache-2.0
// flowwalld --cleanup: take flowwall off the node. Detaches every pinned tcx link, removes
// flowwall's cls_bpf filters (clsact fallback) from the host's interfaces and from the
// network namespaces the runtimes keep, and removes every pin (programs, maps). The state
// directory (identities, later the learned model) is kept: it is the operator's data.
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
