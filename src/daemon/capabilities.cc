// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace flowwall::daemon {

namespace {

// The kernel accepts CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON (bpf_capable(),
// perfmon_capable()) and of CAP_NET_ADMIN for tcx links (bpf_net_capable()), and setns()
// needs CAP_SYS_ADMIN anyway: keeping the other three costs nothing, and states what the
// daemon relies on instead of leaving it implied. CAP_NET_ADMIN is needed on its own for the
// clsact fallback (rtnetlink qdiscs and filters). CAP_SYS_PTRACE is kept when held: Docker's
// SandboxKey file needs none, but /proc/<pid>/ns/net of a container (a workload without a
// netns file) is refused unless the daemon's capabilities cover the container's.
constexpr std::array kRuntimeCapabilities{
    RuntimeCapability{CAP_BPF, "cap_bpf", "bpf(): maps, links and pins in bpffs"},
    RuntimeCapability{CAP_NET_ADMIN, "cap_net_admin",
                      "attaching to new workloads' interfaces (tcx links, clsact qdiscs and "
                      "filters over rtnetlink)"},
    RuntimeCapability{CAP_SYS_ADMIN, "cap_sys_admin",
                      "setns() into a workload's network namespace to attach there"},
    RuntimeCapability{CAP_PERFMON, "cap_perfmon",
                      "what the programs were loaded with; stated rather than implied"},
    RuntimeCapability{CAP_SYS_PTRACE, "cap_sys_ptrace",
                      "opening /proc/<pid>/ns/net of a container that has no netns file"},
};

// capset() works on 64-bit masks split into two 32-bit words.
struct CapabilityMasks {
    std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> words{};

    bool has_permitted(int capability) const {
        return (words[capability / 32].permitted >> (capability % 32)) & 1U;
    }
    void keep(int capability) {
        words[capability / 32].permitted |= 1U << (capability % 32);
        words[capability / 32].effective |= 1U << (capability % 32);
    }
};

Result<CapabilityMasks> current_masks() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    CapabilityMasks masks;
    if (::syscall(SYS_capget, &header, masks.words.data()) != 0)
        return Error::from_errno(errno, "capget");
    return masks;
}

std::size_t live_threads() {
    std::error_code error;
    std::size_t count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/task", error), end; !error && it != end;
         it.increment(error))
        ++count;
    return count;
}

// A thread that was just joined can still be listed while the kernel finishes its exit: it
// is given a moment before it counts as running.
Status require_single_thread() {
    std::size_t threads = live_threads();
    for (int attempt = 0; threads > 1 && attempt < 10; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        threads = live_threads();
    }
    if (threads <= 1)
        return {};
    return Error{EBUSY, std::to_string(threads - 1) +
                            " other threads are already running, and capabilities belong to "
                            "each thread: they would keep all of theirs; capabilities must be "
                            "dropped before the first thread starts"};
}

// Dropping from the bounding set needs CAP_SETPCAP, which the capset() below gives up; and
// only capabilities still in the set are dropped, so a daemon started with a bounded set
// (the systemd unit: no CAP_SETPCAP) has nothing to do here.
Status drop_from_bounding_set(const CapabilityMasks& keep) {
    std::optional<Error> first;
    for (int capability = 0;; ++capability) {
        int present = ::prctl(PR_CAPBSET_READ, capability, 0, 0, 0);
        if (present < 0)
            break; // EINVAL: past the kernel's last capability
        if (present == 0 || keep.has_permitted(capability))
            continue;
        if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) == 0 || first)
            continue;
        int errnum = errno;
        first = Error::from_errno(errnum, "cannot drop capability " + std::to_string(capability) +
                                              " from the bounding set" +
                                              (errnum == EPERM
                                                   ? " (needs CAP_SETPCAP: start flowwalld with "
                                                     "its bounding set limited instead, as the "
                                                     "systemd unit's CapabilityBoundingSet= does)"
                                                   : ""));
    }
    if (first)
        return *first;
    return {};
}

} // namespace

std::span<const RuntimeCapability> runtime_capabilities() {
    return kRuntimeCapabilities;
}

Result<std::vector<std::string>> restrict_capabilities(std::span<const RuntimeCapability> keep) {
    if (auto single = require_single_thread(); !single)
        return single.error();
    auto held = current_masks();
    if (!held)
        return held.error();

    CapabilityMasks kept;
    std::vector<std::string> names;
    for (const auto& wanted : keep) {
        if (held.value().has_permitted(wanted.capability)) {
            kept.keep(wanted.capability);
            names.emplace_back(wanted.name);
        }
    }

    std::optional<Error> first;
    auto note = [&first](Status step) {
        if (!step && !first)
            first = step.error();
    };
    note(drop_from_bounding_set(kept));
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        note(Error::from_errno(errno, "cannot clear the ambient capabilities"));
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    if (::syscall(SYS_capset, &header, kept.words.data()) != 0)
        note(Error::from_errno(errno, "cannot reduce the effective, permitted and inheritable "
                                      "capabilities (capset)"));
    // No execve() can give back what was dropped, even of a set-user-ID or file-capability
    // binary (the daemon runs none; this keeps it so).
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        note(Error::from_errno(errno, "cannot set no_new_privs"));
    if (first)
        return *first;
    return names;
}

void drop_unneeded_capabilities() {
    auto kept = restrict_capabilities(runtime_capabilities());
    if (!kept) {
        // Logged, and the daemon keeps running: a failure leaves it at most as privileged as
        // it was before this step existed (root, or what its unit granted), while refusing to
        // run would stop new workloads from being guarded until someone intervened. For a
        // firewall, enforcement matters more than this extra layer; the access e2e test
        // checks that the drop happens.
        spdlog::error("capabilities: dropping the ones flowwalld does not need after start-up "
                      "did not fully succeed: {}; it runs with more privilege than it needs",
                      kept.error().to_string());
        return;
    }
    spdlog::info("capabilities: keeping only {} (every other capability dropped from the "
                 "effective, permitted, inheritable, ambient and bounding sets; no_new_privs set)",
                 fmt::join(kept.value(), ", "));
    for (const auto& capability : runtime_capabilities())
        if (std::ranges::find(kept.value(), capability.name) != kept.value().end())
            spdlog::debug("capabilities: {}: {}", capability.name, capability.why);
}

} // namespace flowwall::daemon
