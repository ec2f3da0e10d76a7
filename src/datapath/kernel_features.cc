// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/kernel_features.h"

#include "src/common/unique_fd.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

namespace flowwall::datapath {

namespace {

// From <linux/capability.h>; CAP_BPF is newer than some installed headers.
constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;
constexpr int kCapBpf = 39;

constexpr int kLoopbackIfindex = 1; // lo is ifindex 1 in every network namespace

// libbpf 1.1's probes load programs and create maps; when that is refused (EPERM), the map
// and program probes answer 0 ("unsupported") and the helper probe even answers 1, so
// permission is checked first with a plain map of a type every BPF kernel has.
int probe_permission() {
    UniqueFd map(::bpf_map_create(BPF_MAP_TYPE_ARRAY, "fw_probe", 4, 4, 1, nullptr));
    return map.valid() ? 0 : errno;
}

bool map_type_supported(bpf_map_type type) {
    return ::libbpf_probe_bpf_map_type(type, nullptr) == 1;
}

bool prog_type_supported(bpf_prog_type type) {
    return ::libbpf_probe_bpf_prog_type(type, nullptr) == 1;
}

struct Requirement {
    bool present;
    std::string_view what;
    int major;
    int minor;
};

std::string kernel_release() {
    struct utsname names {};
    if (::uname(&names) != 0)
        return "unknown";
    return names.release;
}

Result<uint64_t> effective_capabilities() {
    std::ifstream status("/proc/self/status");
    if (!status)
        return Error::from_errno(errno, "read /proc/self/status to check capabilities: is /proc "
                                        "mounted?");
    std::string line;
    while (std::getline(status, line)) {
        constexpr std::string_view kKey = "CapEff:";
        if (line.rfind(kKey, 0) != 0)
            continue;
        const char* digits = line.c_str() + kKey.size();
        char* end = nullptr;
        uint64_t capabilities = std::strtoull(digits, &end, 16);
        if (end == digits)
            break;
        return capabilities;
    }
    return Error{EINVAL, "no readable CapEff line in /proc/self/status: cannot check "
                         "capabilities"};
}

} // namespace

Result<bool> probe_tcx() {
    uint32_t count = 0;
    int result = ::bpf_prog_query(kLoopbackIfindex, kAttachTcxIngress, 0, nullptr, nullptr, &count);
    if (result == 0)
        return true;
    int errnum = -result;
    if (errnum == EINVAL)
        return false;
    std::string hint = errnum == EPERM ? ": run as root (needs CAP_NET_ADMIN and CAP_BPF)" : "";
    return Error::from_errno(errnum, "probe tcx support (query tcx ingress of lo)" + hint);
}

KernelFeatures probe_kernel_features() {
    KernelFeatures features;
    features.kernel_release = kernel_release();
    features.btf = std::filesystem::exists("/sys/kernel/btf/vmlinux");

    int permission = probe_permission();
    if (permission == ENOSYS)
        return features;
    features.bpf_syscall = true;
    if (permission != 0) {
        features.probe_errno = permission;
        return features;
    }
    features.ringbuf = map_type_supported(BPF_MAP_TYPE_RINGBUF);
    features.lpm_trie = map_type_supported(BPF_MAP_TYPE_LPM_TRIE);
    features.lru_hash = map_type_supported(BPF_MAP_TYPE_LRU_HASH);
    features.sched_cls = prog_type_supported(BPF_PROG_TYPE_SCHED_CLS);
    features.xdp = prog_type_supported(BPF_PROG_TYPE_XDP);
    features.ktime_coarse = ::libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS,
                                                      BPF_FUNC_ktime_get_coarse_ns, nullptr) == 1;
    Result<bool> tcx = probe_tcx();
    if (tcx)
        features.tcx = tcx.value();
    else
        features.probe_errno = tcx.error().errnum;
    return features;
}

Status require_datapath_features(const KernelFeatures& features) {
    if (features.probe_errno != 0)
        return Error::from_errno(features.probe_errno,
                                 "probe kernel features on Linux " + features.kernel_release +
                                     ": run as root (needs CAP_BPF and CAP_NET_ADMIN)");
    const std::vector<Requirement> requirements = {
        {features.bpf_syscall, "bpf(2) system call (CONFIG_BPF_SYSCALL)", 3, 18},
        {features.btf, "kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)", 5, 4},
        {features.sched_cls, "TC programs (BPF_PROG_TYPE_SCHED_CLS)", 4, 1},
        {features.xdp, "XDP programs attached through bpf_link", 5, 9},
        {features.lru_hash, "LRU hash maps", 4, 10},
        {features.lpm_trie, "LPM trie maps", 4, 11},
        {features.ringbuf, "BPF ring buffer", 5, 8},
        {features.ktime_coarse, "helper bpf_ktime_get_coarse_ns", 5, 11},
    };
    std::string missing;
    int need_major = 0;
    int need_minor = 0;
    for (const Requirement& requirement : requirements) {
        if (requirement.present)
            continue;
        if (!missing.empty())
            missing += ", ";
        missing += std::string(requirement.what) + " (Linux " + std::to_string(requirement.major) +
                   "." + std::to_string(requirement.minor) + ")";
        if (requirement.major > need_major ||
            (requirement.major == need_major && requirement.minor > need_minor)) {
            need_major = requirement.major;
            need_minor = requirement.minor;
        }
    }
    if (missing.empty())
        return {};
    return Error{ENOTSUP, "kernel " + features.kernel_release +
                              " lacks what the flowwall datapath needs: " + missing +
                              "; run flowwall on Linux " + std::to_string(need_major) + "." +
                              std::to_string(need_minor) + " or newer with these enabled"};
}

Status check_privileges() {
    Result<uint64_t> capabilities = effective_capabilities();
    if (!capabilities)
        return capabilities.error();
    auto has = [&](int capability) { return (capabilities.value() >> capability) & 1U; };
    std::string missing;
    if (!has(kCapBpf) && !has(kCapSysAdmin))
        missing = "CAP_BPF (or CAP_SYS_ADMIN)";
    if (!has(kCapNetAdmin))
        missing += std::string(missing.empty() ? "" : ", ") + "CAP_NET_ADMIN";
    if (missing.empty())
        return {};
    std::string who = ::geteuid() == 0 ? "running as root without some capabilities" : "not root";
    return Error{EPERM, who +
                            ": flowwall loads and attaches BPF programs and needs CAP_BPF (or "
                            "CAP_SYS_ADMIN) and CAP_NET_ADMIN; missing " +
                            missing + "; run as root with these capabilities"};
}

} // namespace flowwall::datapath
