// SPDX-License-Identifier: Apache-2.0
// The TC programs attached at every guard point of every workload, owned per workload:
// attached when a workload appears, detached when it goes, pinned (tcx links) under
// <bpffs>/links so enforcement outlives the daemon and a restarted daemon adopts them.
#pragma once

#include "src/common/result.h"
#include "src/daemon/filter_records.h"
#include "src/daemon/guard_points.h"
#include "src/datapath/tc_attachment.h"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace flowwall::daemon {

struct GuardState {
    GuardPoint point;
    bool attached = false;
    std::string mode; // "tcx" or "clsact" once attached
    std::string error;
};

class InterfaceGuards {
public:
    // filter_records_dir: where clsact filters are recorded for --cleanup (filter_records.h);
    // empty: not recorded.
    InterfaceGuards(std::filesystem::path links_dir, int from_workload_fd, int to_workload_fd,
                    datapath::TcAttachMode mode, std::filesystem::path filter_records_dir = {});
    ~InterfaceGuards();
    InterfaceGuards(const InterfaceGuards&) = delete;
    InterfaceGuards& operator=(const InterfaceGuards&) = delete;

    // Makes the guards of workload_key exactly `points`: attaches what is new, detaches what
    // is no longer wanted, retries what failed before. Errors are kept per guard point.
    void guard(const std::string& workload_key, const std::vector<GuardPoint>& points);
    // Detaches everything of workload_key.
    void release(const std::string& workload_key);
    // Keys of workloads guarded now.
    std::vector<std::string> workload_keys() const;

    std::vector<GuardState> states(const std::string& workload_key) const;
    // False when a guard point of workload_key is not attached (it will be retried).
    bool all_attached(const std::string& workload_key) const;
    // Guard points with both programs attached, and those whose attachment failed (retried).
    size_t attached_count() const { return count_attached(true); }
    size_t failed_count() const { return count_attached(false); }

    // Unpins and detaches pinned links under links_dir that no current guard point owns:
    // workloads that went away while no daemon was running. Call once every source has
    // listed its workloads. Returns how many were removed.
    size_t remove_unowned_pins();

    // On exit: leave every program attached (enforcement goes on without the daemon).
    void keep_all_on_exit();

private:
    struct Guard {
        GuardState state;
        std::vector<datapath::TcAttachment> attachments; // from_workload, to_workload
    };
    void attach(Guard& guard);
    size_t count_attached(bool attached) const;
    std::filesystem::path pin_path(const GuardPoint& point, datapath::TcHook hook) const;
    static std::string record_key(const GuardPoint& point, datapath::TcHook hook);
    void record_filters(const Guard& guard);
    void forget_filters(const GuardPoint& point);

    std::filesystem::path links_dir_;
    int from_workload_fd_;
    int to_workload_fd_;
    datapath::TcAttachMode mode_;
    FilterRecords filter_records_;
    std::map<std::string, std::map<std::string, Guard>> guards_; // workload key -> point key
    bool keep_on_exit_ = false;
};

} // namespace flowwall::daemon
