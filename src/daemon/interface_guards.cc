// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/interface_guards.h"

#include "src/datapath/owned_link.h"

#include <spdlog/spdlog.h>

#include <system_error>

namespace flowwall::daemon {

using datapath::TcAttachment;
using datapath::TcAttachMode;
using datapath::TcHook;

InterfaceGuards::InterfaceGuards(std::filesystem::path links_dir, int from_workload_fd,
                                 int to_workload_fd, TcAttachMode mode,
                                 std::filesystem::path filter_records_dir)
    : links_dir_(std::move(links_dir)), from_workload_fd_(from_workload_fd),
      to_workload_fd_(to_workload_fd), mode_(mode), filter_records_(std::move(filter_records_dir)) {
}

InterfaceGuards::~InterfaceGuards() {
    if (!keep_on_exit_) {
        // The attachments' destructors detach; their records go with them.
        for (auto& [workload, guards] : guards_)
            for (auto& [key, guard] : guards)
                forget_filters(guard.state.point);
        return;
    }
    for (auto& [workload, guards] : guards_)
        for (auto& [key, guard] : guards)
            for (auto& attachment : guard.attachments)
                if (auto kept = attachment.keep_on_exit(); !kept)
                    spdlog::warn("cannot leave {} attached: {}", key, kept.error().to_string());
}

std::filesystem::path InterfaceGuards::pin_path(const GuardPoint& point, TcHook hook) const {
    if (links_dir_.empty() || mode_ == TcAttachMode::clsact)
        return {};
    return links_dir_ / (point.key + (hook == TcHook::ingress ? "-ingress" : "-egress"));
}

std::string InterfaceGuards::record_key(const GuardPoint& point, TcHook hook) {
    return point.key + (hook == TcHook::ingress ? "-ingress" : "-egress");
}

void InterfaceGuards::record_filters(const Guard& guard) {
    if (filter_records_.dir().empty())
        return;
    for (const auto& attachment : guard.attachments) {
        if (attachment.mode() != TcAttachMode::clsact)
            continue;
        const auto key = record_key(guard.state.point, attachment.hook());
        if (auto recorded = filter_records_.record(key, attachment.interface(), attachment.hook());
            !recorded)
            spdlog::warn("{}: --cleanup will not find this filter: {}", key,
                         recorded.error().to_string());
    }
}

void InterfaceGuards::forget_filters(const GuardPoint& point) {
    if (filter_records_.dir().empty())
        return;
    for (TcHook hook : {TcHook::ingress, TcHook::egress})
        filter_records_.forget(record_key(point, hook));
}

void InterfaceGuards::attach(Guard& guard) {
    guard.attachments.clear();
    guard.state.attached = false;
    guard.state.error.clear();
    const GuardPoint& point = guard.state.point;
    const std::pair<TcHook, int> programs[] = {{point.from_workload_hook(), from_workload_fd_},
                                               {point.to_workload_hook(), to_workload_fd_}};
    for (const auto& [hook, prog_fd] : programs) {
        const std::filesystem::path pin = pin_path(point, hook);
        auto attached = TcAttachment::attach(point.iface, hook, prog_fd, mode_, pin);
        if (!attached && attached.error().errnum == EEXIST && !pin.empty()) {
            // A pin from a previous daemon that cannot be adopted (another interface got the
            // name): drop it and attach afresh.
            std::error_code ignored;
            std::filesystem::remove(pin, ignored);
            attached = TcAttachment::attach(point.iface, hook, prog_fd, mode_, pin);
        }
        if (!attached) {
            guard.state.error = attached.error().to_string();
            guard.attachments.clear(); // both programs or neither
            forget_filters(point);
            spdlog::warn("cannot guard {} ({}): {}", point.iface.to_string(),
                         to_string(point.placement), guard.state.error);
            return;
        }
        guard.attachments.push_back(std::move(attached.value()));
    }
    record_filters(guard);
    guard.state.attached = true;
    guard.state.mode = guard.attachments.front().mode() == TcAttachMode::tcx ? "tcx" : "clsact";
    spdlog::info("guarding {} ({}, {})", point.iface.to_string(), to_string(point.placement),
                 guard.state.mode);
}

void InterfaceGuards::guard(const std::string& workload_key,
                            const std::vector<GuardPoint>& points) {
    auto& guards = guards_[workload_key];
    std::set<std::string> wanted;
    for (const auto& point : points)
        wanted.insert(point.key);
    // The key names the interface (and its namespace), so an unchanged key is the same hook.
    for (auto it = guards.begin(); it != guards.end();) {
        if (!wanted.contains(it->first)) {
            forget_filters(it->second.state.point);
            it = guards.erase(it); // TcAttachment destructors detach
        } else
            ++it;
    }
    for (const auto& point : points) {
        auto [it, inserted] = guards.try_emplace(point.key, Guard{GuardState{point}, {}});
        if (inserted || !it->second.state.attached)
            attach(it->second);
    }
}

void InterfaceGuards::release(const std::string& workload_key) {
    auto it = guards_.find(workload_key);
    if (it == guards_.end())
        return;
    for (auto& [key, guard] : it->second) {
        bool all_detached = true;
        for (auto& attachment : guard.attachments)
            if (auto detached = attachment.detach(); !detached) {
                spdlog::warn("detach {}: {}", key, detached.error().to_string());
                all_detached = false;
            }
        if (all_detached) // else the record lets --cleanup find what is left
            forget_filters(guard.state.point);
        spdlog::info("released {}", guard.state.point.iface.to_string());
    }
    guards_.erase(it);
}

std::vector<std::string> InterfaceGuards::workload_keys() const {
    std::vector<std::string> keys;
    for (const auto& [key, guards] : guards_)
        keys.push_back(key);
    return keys;
}

std::vector<GuardState> InterfaceGuards::states(const std::string& workload_key) const {
    std::vector<GuardState> result;
    auto it = guards_.find(workload_key);
    if (it != guards_.end())
        for (const auto& [key, guard] : it->second)
            result.push_back(guard.state);
    return result;
}

bool InterfaceGuards::all_attached(const std::string& workload_key) const {
    auto it = guards_.find(workload_key);
    if (it == guards_.end())
        return true;
    for (const auto& [key, guard] : it->second)
        if (!guard.state.attached)
            return false;
    return true;
}

size_t InterfaceGuards::count_attached(bool attached) const {
    size_t count = 0;
    for (const auto& [workload, guards] : guards_)
        for (const auto& [key, guard] : guards)
            count += guard.state.attached == attached ? 1 : 0;
    return count;
}

size_t InterfaceGuards::remove_unowned_pins() {
    if (links_dir_.empty())
        return 0;
    std::set<std::filesystem::path> owned;
    for (const auto& [workload, guards] : guards_)
        for (const auto& [key, guard] : guards)
            for (TcHook hook : {TcHook::ingress, TcHook::egress})
                owned.insert(pin_path(guard.state.point, hook));
    size_t removed = 0;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(links_dir_, error)) {
        if (owned.contains(entry.path()))
            continue;
        if (auto detached = datapath::detach_pinned_link(entry.path()); !detached) {
            spdlog::warn("stale link pin: {}", detached.error().to_string());
            continue;
        }
        spdlog::info("removed stale link pin {}", entry.path().string());
        ++removed;
    }
    return removed;
}

void InterfaceGuards::keep_all_on_exit() {
    keep_on_exit_ = true;
}

} // namespace flowwall::daemon
