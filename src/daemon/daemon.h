// SPDX-License-Identifier: Apache-2.0
// flowwalld's life: start-up checks, datapath load (adopting pinned state), sources, the
// node agent, the control API; then wait for SIGTERM/SIGINT and stop with enforcement left
// in place.
#pragma once

#include "src/config/daemon_config.h"

namespace flowwall::daemon {

// Returns the process exit code. Start-up failures are logged as one line that says what
// to do, and give exit code 1.
int run_daemon(const config::DaemonConfig& config);

// --cleanup: returns 0 when everything flowwall made is gone.
int run_cleanup(const config::DaemonConfig& config);

} // namespace flowwall::daemon
