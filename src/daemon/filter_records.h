// SPDX-License-Identifier: Apache-2.0
// What this flowwalld instance attached as clsact filters, recorded in its own pin dir.
//
// A tcx link is pinned, so the pin dir already says which links an instance owns. A cls_bpf
// filter cannot be pinned, so without a record `flowwalld --cleanup` could only sweep every
// namespace for flowwall's filter, unguarding the workloads of every other instance on the
// kernel (a multi-node lab, two daemons on one host). Each filter is recorded as a symlink
// under <pin dir>/filters whose target holds the namespace, its inode (so a recycled
// /proc/PID path is never mistaken for the namespace the filter went into), the interface
// and the side. bpffs keeps symlinks, so the record lives and dies with the instance's pins.
#pragma once

#include "src/common/result.h"
#include "src/datapath/netns.h"
#include "src/datapath/tc_attachment.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace flowwall::daemon {

struct FilterRecord {
    datapath::InterfaceRef iface; // netns_path empty: the daemon's own namespace
    uint64_t netns_dev = 0;       // st_dev and st_ino of the namespace when attached
    uint64_t netns_ino = 0;
    datapath::TcHook hook = datapath::TcHook::ingress;

    // The symlink target: "flowwall-filter-v1\n<netns>\n<dev>:<ino>\n<ifname>\n<side>".
    std::string encode() const;
    // Refuses anything that is not exactly what encode() writes.
    static Result<FilterRecord> decode(const std::string& text);
};

// Identity of the network namespace at netns_path (empty: the calling process's own).
Result<std::pair<uint64_t, uint64_t>> netns_identity(const std::string& netns_path);

class FilterRecords {
public:
    explicit FilterRecords(std::filesystem::path dir) : dir_(std::move(dir)) {}

    // Records that flowwall's filter is on `hook` of `iface` under `key` (a file name).
    // Replaces an older record of the same key.
    Status record(const std::string& key, const datapath::InterfaceRef& iface,
                  datapath::TcHook hook) const;
    // Drops the record of key; a missing record is fine.
    void forget(const std::string& key) const;

    struct Entry {
        std::filesystem::path path;
        Result<FilterRecord> record;
    };
    // Every record in dir (none when dir is missing); unreadable ones carry their error.
    std::vector<Entry> list() const;

    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

} // namespace flowwall::daemon
