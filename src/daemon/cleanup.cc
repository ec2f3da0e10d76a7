// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/cleanup.h"

#include "src/datapath/bpffs.h"
#include "src/datapath/interfaces.h"
#include "src/datapath/netlink_filters.h"
#include "src/datapath/netns.h"
#include "src/datapath/owned_link.h"

#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/vfs.h>

#include <filesystem>
#include <set>
#include <system_error>

namespace flowwall::daemon {

namespace {

// Where runtimes keep named network namespaces: Docker, iproute2 (`ip netns`), and CNI.
constexpr const char* kNamespaceDirs[] = {"/var/run/docker/netns", "/run/netns", "/var/run/netns"};

// Runtimes leave the files of stopped sandboxes behind; only a mounted namespace counts.
bool is_network_namespace(const std::filesystem::path& path) {
    struct statfs info {};
    return ::statfs(path.c_str(), &info) == 0 && info.f_type == NSFS_MAGIC;
}

void remove_filters_in(const std::string& netns_path, CleanupReport& report) {
    auto interfaces = datapath::list_interfaces(netns_path);
    if (!interfaces) {
        report.problems.push_back(interfaces.error().to_string());
        return;
    }
    for (const auto& info : interfaces.value()) {
        for (uint32_t parent : {datapath::kClsactIngressParent, datapath::kClsactEgressParent}) {
            Status removed = datapath::run_in_netns(netns_path, [&]() -> Status {
                auto present = datapath::flowwall_filter_present(info.ifindex, parent);
                if (!present)
                    return present.error();
                if (!present.value())
                    return {};
                if (auto detached =
                        datapath::detach_flowwall_filter(netns_path, info.ifindex, parent);
                    !detached)
                    return detached;
                ++report.filters_removed;
                return {};
            });
            if (!removed)
                report.problems.push_back(info.name + ": " + removed.error().to_string());
        }
    }
}

} // namespace

CleanupReport cleanup_node(const config::DaemonConfig& config) {
    CleanupReport report;
    std::error_code error;
    auto links_dir = config.bpffs_dir / "links";
    for (const auto& entry : std::filesystem::directory_iterator(links_dir, error)) {
        if (auto detached = datapath::detach_pinned_link(entry.path()); !detached) {
            report.problems.push_back(detached.error().to_string());
            continue;
        }
        ++report.links_detached;
    }

    remove_filters_in("", report);
    std::set<std::filesystem::path> seen;
    for (const char* dir : kNamespaceDirs) {
        for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
            auto canonical = std::filesystem::weakly_canonical(entry.path(), error);
            if (!seen.insert(canonical).second || !is_network_namespace(entry.path()))
                continue;
            remove_filters_in(entry.path().string(), report);
        }
    }

    if (std::filesystem::exists(config.bpffs_dir, error)) {
        if (auto removed = datapath::remove_pin_tree(config.bpffs_dir); !removed)
            report.problems.push_back(removed.error().to_string());
        else
            report.pins_removed = true;
    }
    return report;
}

} // namespace flowwall::daemon
