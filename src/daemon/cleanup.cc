// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/cleanup.h"

#include "src/daemon/filter_records.h"
#include "src/datapath/bpffs.h"
#include "src/datapath/netlink_filters.h"
#include "src/datapath/netns.h"
#include "src/datapath/owned_link.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

namespace flowwall::daemon {

namespace {

uint32_t clsact_parent(datapath::TcHook hook) {
    return hook == datapath::TcHook::ingress ? datapath::kClsactIngressParent
                                             : datapath::kClsactEgressParent;
}

// Removes the filter a record names, if that namespace and interface are still there. A
// namespace path that now names another namespace (a recycled /proc/PID, a re-created
// /run/netns entry) is left alone: the filter went away with the namespace it was in.
Status remove_recorded_filter(const FilterRecord& record, bool& removed) {
    auto identity = netns_identity(record.iface.netns_path);
    if (!identity)
        return {}; // the namespace is gone, and the filter with it
    if (identity.value() != std::pair{record.netns_dev, record.netns_ino}) {
        if (record.iface.netns_path.empty())
            return Error{EINVAL, "filter on " + record.iface.name +
                                     " was attached from another network namespace than this "
                                     "--cleanup runs in: run --cleanup where flowwalld ran"};
        return {};
    }
    return datapath::run_in_netns(record.iface.netns_path, [&]() -> Status {
        auto ifindex = datapath::ifindex_in_entered_netns(record.iface);
        if (!ifindex)
            return {}; // the interface is gone, and the filter with it
        auto present =
            datapath::flowwall_filter_present(ifindex.value(), clsact_parent(record.hook));
        if (!present)
            return present.error();
        if (!present.value())
            return {};
        if (auto detached = datapath::detach_flowwall_filter(
                record.iface.netns_path, ifindex.value(), clsact_parent(record.hook));
            !detached)
            return detached;
        removed = true;
        return {};
    });
}

} // namespace

CleanupReport cleanup_node(const config::DaemonConfig& config) {
    CleanupReport report;
    std::error_code error;
    // links/: the workloads' tcx links; uplinks/: the XDP prefilter on the uplinks.
    for (const char* dir : {"links", "uplinks"}) {
        for (const auto& entry :
             std::filesystem::directory_iterator(config.bpffs_dir / dir, error)) {
            if (auto detached = datapath::detach_pinned_link(entry.path()); !detached) {
                report.problems.push_back(detached.error().to_string());
                continue;
            }
            ++report.links_detached;
        }
    }

    FilterRecords records(config.bpffs_dir / "filters");
    for (auto& entry : records.list()) {
        if (!entry.record) {
            report.problems.push_back(entry.record.error().to_string());
            continue;
        }
        bool removed = false;
        if (auto status = remove_recorded_filter(entry.record.value(), removed); !status) {
            report.problems.push_back(entry.record.value().iface.to_string() + ": " +
                                      status.error().to_string());
            continue;
        }
        report.filters_removed += removed ? 1 : 0;
        records.forget(entry.path.filename().string());
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
