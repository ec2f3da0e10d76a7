// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/node_agent.h"

#include "src/daemon/guard_points.h"
#include "src/daemon/interface_entries.h"
#include "src/datapath/interface_addresses.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace flowwall::daemon {

namespace {

// The node's own addresses (loopback included): traffic from them is `host`, not `world`.
std::vector<IpAddress> host_addresses() {
    std::vector<IpAddress> addresses;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return addresses;
    for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr)
            continue;
        IpAddress address;
        if (entry->ifa_addr->sa_family == AF_INET) {
            address.family = kFamilyIpv4;
            const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
            std::memcpy(address.bytes.data(), &in->sin_addr, 4);
        } else if (entry->ifa_addr->sa_family == AF_INET6) {
            address.family = kFamilyIpv6;
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
            std::memcpy(address.bytes.data(), &in6->sin6_addr, 16);
        } else {
            continue;
        }
        addresses.push_back(address);
    }
    ::freeifaddrs(list);
    return addresses;
}

} // namespace

NodeAgent::NodeAgent(identity::IdentityRegistry& registry, IpcacheSync ipcache,
                     InterfaceMapSync interfaces, InterfaceGuards& guards,
                     std::vector<std::string> sources, Options options)
    : registry_(registry), ipcache_(std::move(ipcache)), interfaces_(std::move(interfaces)),
      guards_(guards), options_(options) {
    for (auto& source : sources)
        sources_.emplace(std::move(source), identity::SourceHealth{});
    publish();
}

void NodeAgent::push(Report report) {
    {
        std::lock_guard lock(queue_mutex_);
        queue_.push_back(std::move(report));
    }
    queue_changed_.notify_one();
}

void NodeAgent::replace_all(const std::string& source, std::vector<identity::Workload> workloads) {
    push(ReplaceAll{source, std::move(workloads)});
}
void NodeAgent::upsert(identity::Workload workload) {
    push(std::move(workload));
}
void NodeAgent::remove(const std::string& source, const std::string& key) {
    push(Remove{source, key});
}
void NodeAgent::health(const std::string& source, identity::SourceHealth health) {
    push(Health{source, std::move(health)});
}

void NodeAgent::set_remote(RemoteWorkloads remote) {
    push(std::move(remote));
}

bool NodeAgent::apply(Report& report) {
    if (auto* remote = std::get_if<RemoteWorkloads>(&report)) {
        if (*remote == remote_)
            return false;
        remote_ = std::move(*remote);
        return true;
    }
    if (auto* replace = std::get_if<ReplaceAll>(&report)) {
        synced_once_.insert(replace->source);
        return table_.replace_all(replace->source, std::move(replace->workloads));
    }
    if (auto* workload = std::get_if<identity::Workload>(&report))
        return table_.upsert(std::move(*workload));
    if (auto* removal = std::get_if<Remove>(&report))
        return table_.remove(removal->source, removal->key);
    auto& health = std::get<Health>(report);
    sources_.insert_or_assign(health.source, std::move(health.health));
    return false;
}

void NodeAgent::run(std::stop_token stop) {
    std::stop_callback wake(stop, [this] { queue_changed_.notify_all(); });
    auto next_retry = std::chrono::steady_clock::now() + options_.retry_interval;
    reconcile(false);
    while (!stop.stop_requested()) {
        std::deque<Report> batch;
        {
            std::unique_lock lock(queue_mutex_);
            queue_changed_.wait_until(lock, stop, next_retry, [this] { return !queue_.empty(); });
            batch.swap(queue_);
        }
        if (stop.stop_requested())
            break;
        bool changed = false;
        for (auto& report : batch)
            changed = apply(report) || changed;
        bool retry_due = std::chrono::steady_clock::now() >= next_retry;
        if (changed || retry_due) {
            if (retry_due)
                next_retry = std::chrono::steady_clock::now() + options_.retry_interval;
            reconcile(retry_due);
        } else if (!batch.empty()) {
            publish(); // health changes only
        }
    }
}

IpcacheEntries NodeAgent::desired_ipcache() {
    IpcacheEntries desired;
    // Remote claims first, so that the node's own addresses and its local workloads, written
    // after them, always win: another node never decides what a local address is.
    remote_applied_.clear();
    for (const auto& [address, remote] : remote_) {
        auto id = registry_.id_for(remote.identity);
        if (!id) {
            spdlog::error("identity {} of {} on node {}: {}", remote.identity, remote.name,
                          remote.node, id.error().to_string());
            continue;
        }
        desired.insert_or_assign(
            address, fw_identity_info{.identity = id.value(), .flags = FW_IDENTITY_F_REMOTE});
        remote_applied_.emplace(address, remote);
    }
    // The node's own addresses are `host`, whatever another node claims.
    if (options_.map_host_addresses)
        for (const auto& address : host_addresses()) {
            desired.insert_or_assign(address, fw_identity_info{.identity = FW_ID_HOST, .flags = 0});
            remote_applied_.erase(address);
        }
    workload_names_.clear();
    // The workloads' link-local addresses: theirs, though no runtime reports them (fe80::
    // traffic between workloads is judged by identity like any other).
    for (const auto& [address, id] : link_local_owners_)
        desired.insert_or_assign(address,
                                 fw_identity_info{.identity = id, .flags = FW_IDENTITY_F_LOCAL});
    for (const auto& [address, owner] : table_.address_owners()) {
        remote_applied_.erase(address);
        workload_names_.emplace(address, owner->name);
        auto id = registry_.id_for(owner->identity);
        if (!id) {
            spdlog::error("identity {} of {}: {}", owner->identity, owner->name,
                          id.error().to_string());
            continue;
        }
        // A workload address the node also has (a host-network lab) is the workload's.
        desired.insert_or_assign(
            address, fw_identity_info{.identity = id.value(), .flags = FW_IDENTITY_F_LOCAL});
    }
    return desired;
}

void NodeAgent::guard_workloads(bool retry_failed) {
    // Gone workloads first: their interfaces may be reused by the ones that replace them.
    for (const auto& key : guards_.workload_keys()) {
        if (table_.find(key) == nullptr) {
            guards_.release(key);
            guarded_as_.erase(key);
            plan_errors_.erase(key);
        }
    }
    for (const auto& [key, workload] : table_.workloads()) {
        auto planned = guarded_as_.find(key);
        bool unchanged = planned != guarded_as_.end() && planned->second == workload;
        if (unchanged &&
            !(retry_failed && (plan_errors_.contains(key) || !guards_.all_attached(key))))
            continue;
        auto points = plan_guard_points(workload);
        guarded_as_.insert_or_assign(key, workload);
        if (!points) {
            plan_errors_.insert_or_assign(key, points.error().to_string());
            spdlog::warn("cannot find the interfaces of {}: {}", workload.name,
                         points.error().to_string());
            continue;
        }
        plan_errors_.erase(key);
        guards_.guard(key, points.value());
    }
}

bool NodeAgent::sync_interfaces(bool remove_unclaimed) {
    InterfaceEntries desired;
    std::map<IpAddress, uint32_t> link_locals;
    std::map<std::string, datapath::InterfaceKey> keys_now;
    std::set<std::string> namespaces;
    // Who owns what, before any interface is read: the runtimes' addresses, and link-local
    // addresses as they were owned after the last read (the first to hold one keeps it).
    std::map<IpAddress, uint32_t> owners = link_local_owners_;
    for (const auto& [key, workload] : table_.workloads()) {
        if (auto id = registry_.find(workload.identity))
            for (const auto& address : workload.addresses)
                owners.insert_or_assign(address, *id);
    }
    for (const auto& [key, workload] : table_.workloads()) {
        auto id = registry_.find(workload.identity);
        if (!id)
            continue;
        namespaces.insert(workload.netns_path);
        for (const auto& state : guards_.states(key)) {
            namespaces.insert(state.point.iface.netns_path); // a veth peer's, e.g. a lab's hub
            auto read = read_guarded_interface(workload, state.point, netns_cookies_);
            if (!read) {
                // Keep the last entry: a namespace that could not be read this once may still
                // be live, and a missing entry would change how its packets are judged.
                auto known = interface_keys_.find(state.point.key);
                auto applied = known == interface_keys_.end()
                                   ? interfaces_.applied().end()
                                   : interfaces_.applied().find(known->second);
                if (applied != interfaces_.applied().end()) {
                    desired.insert_or_assign(applied->first, applied->second);
                    keys_now.insert_or_assign(state.point.key, applied->first);
                }
                spdlog::debug("interface map: {} of {}: {}", state.point.workload_interface,
                              workload.name, read.error().to_string());
                continue;
            }
            auto owned_elsewhere = [&](const IpAddress& address) {
                auto owner = owners.find(address);
                if (owner != owners.end())
                    return owner->second != *id;
                owners.emplace(address, *id); // first come, first served within this read
                return false;
            };
            auto entry = interface_entry(*id, read.value().mac, workload.addresses,
                                         read.value().addresses, owned_elsewhere);
            for (const auto& address : entry.untrusted)
                spdlog::debug("{} of {}: {} is on the interface but neither the runtime's nor a "
                              "link-local address of its own: packets from it are dropped as "
                              "spoofed",
                              state.point.workload_interface, workload.name, address.to_string());
            for (const auto& address : entry.left_out)
                spdlog::warn("{} of {}: no room for {} in the interface map; packets from it "
                             "are dropped as spoofed",
                             state.point.workload_interface, workload.name, address.to_string());
            for (const auto& address : entry.workload.addresses)
                if (datapath::is_link_local(address))
                    link_locals.insert_or_assign(address, *id);
            desired.insert_or_assign(read.value().key, std::move(entry.workload));
            keys_now.insert_or_assign(state.point.key, read.value().key);
        }
    }
    interface_keys_ = std::move(keys_now);
    netns_cookies_.keep_only(namespaces);
    interface_error_ = interfaces_.apply(desired, remove_unclaimed).error;
    if (link_locals == link_local_owners_)
        return false;
    link_local_owners_ = std::move(link_locals);
    return true;
}

void NodeAgent::reconcile(bool retry_failed) {
    bool all_synced = synced_once_.size() >= sources_.size();
    for (const auto& [source, health] : sources_)
        all_synced = all_synced && synced_once_.contains(source);
    // The ipcache first: it is quick, and a workload's address should resolve to its
    // identity before its programs judge anything; attaching enters namespaces and is slower.
    auto outcome = ipcache_.apply(desired_ipcache(), all_synced);
    ipcache_error_ = outcome.error;
    guard_workloads(retry_failed);
    if (sync_interfaces(all_synced)) {
        outcome = ipcache_.apply(desired_ipcache(), all_synced);
        ipcache_error_ = outcome.error;
    }
    if (all_synced && !stale_pins_removed_) {
        guards_.remove_unowned_pins();
        stale_pins_removed_ = true;
    }
    ++reconciles_;
    publish();
}

void NodeAgent::publish() {
    auto snapshot = std::make_shared<NodeSnapshot>();
    for (const auto& [key, workload] : table_.workloads()) {
        EndpointView view{.workload = workload};
        if (auto id = registry_.find(workload.identity))
            view.identity_id = *id;
        view.guards = guards_.states(key);
        if (auto error = plan_errors_.find(key); error != plan_errors_.end())
            view.error = error->second;
        snapshot->workloads_per_identity[workload.identity]++;
        snapshot->endpoints.push_back(std::move(view));
    }
    bool all_synced = true;
    for (const auto& [name, health] : sources_) {
        snapshot->sources.push_back(SourceView{name, health});
        all_synced = all_synced && synced_once_.contains(name);
    }
    snapshot->all_sources_synced = all_synced;
    snapshot->identities = registry_.all();
    snapshot->ipcache_entries = ipcache_.size();
    snapshot->ipcache_capacity = ipcache_.capacity();
    snapshot->ipcache_error = ipcache_error_;
    snapshot->interface_entries = interfaces_.applied().size();
    snapshot->interface_error = interface_error_;
    snapshot->guards_attached = guards_.attached_count();
    snapshot->guards_failed = guards_.failed_count();
    snapshot->reconciles = reconciles_;
    snapshot->workload_names = workload_names_;
    // Audit records name a remote peer with its node: "db-1@node-2".
    for (const auto& [address, remote] : remote_applied_)
        snapshot->workload_names.emplace(address, remote.name + "@" + remote.node);
    snapshot->remote = remote_applied_;
    {
        std::lock_guard lock(snapshot_mutex_);
        snapshot_ = snapshot;
    }
    if (options_.on_published)
        options_.on_published(*snapshot);
}

std::shared_ptr<const NodeSnapshot> NodeAgent::snapshot() const {
    std::lock_guard lock(snapshot_mutex_);
    return snapshot_;
}

} // namespace flowwall::daemon
