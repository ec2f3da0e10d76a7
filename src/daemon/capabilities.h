// SPDX-License-Identifier: Apache-2.0
// flowwalld's privileges after start-up: once the datapath is loaded and pinned, the daemon
// keeps only the capabilities its running life uses and gives up every other one for good
// (effective, permitted, inheritable, ambient and bounding sets, plus no_new_privs), so a bug
// in the control API, the Docker client or the web endpoint cannot be turned into, say,
// CAP_DAC_OVERRIDE or CAP_SYS_MODULE.
#pragma once

#include "src/common/result.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flowwall::daemon {

struct RuntimeCapability {
    int capability;        // CAP_* from <linux/capability.h>
    std::string_view name; // "cap_bpf": the spelling of capsh and /proc tools
    std::string_view why;  // what the running daemon does with it
};

// What flowwalld keeps: CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_PERFMON and CAP_SYS_PTRACE.
// Each is kept only if the process holds it when it drops the rest: none is ever gained.
std::span<const RuntimeCapability> runtime_capabilities();

// Reduces the calling process to the capabilities of `keep` it holds now: effective and
// permitted to those, inheritable and ambient to none, the bounding set to those (dropping
// from the bounding set needs CAP_SETPCAP, so it is done first), then sets no_new_privs.
// Capabilities belong to each thread, so this refuses (changing nothing) while any other
// thread is alive: it would keep every capability. Every step is attempted even when one
// fails; the error names the first failure. Returns the names of the capabilities kept.
Result<std::vector<std::string>> restrict_capabilities(std::span<const RuntimeCapability> keep);

// flowwalld's call, once, after the last privileged start-up step and before its first thread
// starts: restrict_capabilities(runtime_capabilities()), the kept set logged at info, a
// failure logged as an error (and the daemon keeps running; see the .cc for why).
void drop_unneeded_capabilities();

} // namespace flowwall::daemon
