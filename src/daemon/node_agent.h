// SPDX-License-Identifier: Apache-2.0
// Makes the datapath follow the workloads on this node. Sources report into it (it is their
// WorkloadSink) from their own threads; one thread (run()) applies those reports in order
// and reconciles: identities get ids, the ipcache gets every local address, every workload
// interface gets the TC programs. Readers (the control API) get immutable snapshots, so they
// never wait for a reconcile.
#pragma once

#include "src/daemon/guarded_interfaces.h"
#include "src/daemon/interface_guards.h"
#include "src/daemon/interface_map_sync.h"
#include "src/daemon/ipcache_sync.h"
#include "src/daemon/workload_table.h"
#include "src/identity/identity_registry.h"
#include "src/identity/workload_source.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

namespace flowwall::daemon {

struct EndpointView {
    identity::Workload workload;
    uint32_t identity_id = 0;
    std::vector<GuardState> guards;
    std::string error; // why its interfaces could not be planned, if so
};

// A workload on another node of the cluster, as the cluster store's winning claim has it.
struct RemoteWorkload {
    std::string identity;
    std::string name; // the workload's name on its node
    std::string node;
    bool operator==(const RemoteWorkload&) const = default;
};
using RemoteWorkloads = std::map<IpAddress, RemoteWorkload>;

struct SourceView {
    std::string name;
    identity::SourceHealth health;
};

struct NodeSnapshot {
    std::vector<EndpointView> endpoints;                      // by workload key
    std::vector<SourceView> sources;                          // by name
    std::vector<std::pair<std::string, uint32_t>> identities; // by id
    std::map<std::string, size_t> workloads_per_identity;
    // Who owns each local address; remote addresses too, as "<workload>@<node>" (cluster).
    std::map<IpAddress, std::string> workload_names;
    RemoteWorkloads remote; // other nodes' addresses in the ipcache (local ones never here)
    size_t ipcache_entries = 0;
    size_t interface_entries = 0; // fw_ifaces_v1: guarded interfaces with their workload
    std::string interface_error;
    uint32_t ipcache_capacity = 0;
    std::string ipcache_error;
    size_t guards_attached = 0;
    size_t guards_failed = 0;
    bool all_sources_synced = false;
    uint64_t reconciles = 0;
};

class NodeAgent : public identity::WorkloadSink {
public:
    struct Options {
        std::chrono::milliseconds retry_interval = std::chrono::seconds(2); // failed guards
        bool map_host_addresses = true; // the node's own addresses -> identity `host`
        // Called on the agent's thread after each new snapshot (learning observes identities).
        std::function<void(const NodeSnapshot&)> on_published;
    };
    // `sources` are the names of every source that will report: unclaimed ipcache entries and
    // stale pins are removed only once each has synced once.
    NodeAgent(identity::IdentityRegistry& registry, IpcacheSync ipcache,
              InterfaceMapSync interfaces, InterfaceGuards& guards,
              std::vector<std::string> sources, Options options);

    // WorkloadSink: called from the sources' threads.
    void replace_all(const std::string& source, std::vector<identity::Workload> workloads) override;
    void upsert(identity::Workload workload) override;
    void remove(const std::string& source, const std::string& key) override;
    void health(const std::string& source, identity::SourceHealth health) override;
    // Every other node's winning address claims (cluster mode), from the cluster's thread.
    // They go into the ipcache as remote entries; a local workload's address stays local.
    void set_remote(RemoteWorkloads remote);

    // Applies reports until stop is requested.
    void run(std::stop_token stop);

    std::shared_ptr<const NodeSnapshot> snapshot() const;

private:
    struct ReplaceAll {
        std::string source;
        std::vector<identity::Workload> workloads;
    };
    struct Remove {
        std::string source;
        std::string key;
    };
    struct Health {
        std::string source;
        identity::SourceHealth health;
    };
    using Report = std::variant<ReplaceAll, identity::Workload, Remove, Health, RemoteWorkloads>;

    void push(Report report);
    bool apply(Report& report); // true if the workloads changed
    void reconcile(bool retry_failed);
    void guard_workloads(bool retry_failed);
    // Every guard point's entry in the interface map, read from the workloads' namespaces on
    // every reconcile (so changed addresses are picked up within one retry interval), and
    // their link-local addresses for the ipcache. True if those link-local addresses changed.
    bool sync_interfaces(bool remove_unclaimed);
    // Also refreshes workload_names_ from the same pass over the address owners.
    IpcacheEntries desired_ipcache();
    void publish();

    identity::IdentityRegistry& registry_;
    IpcacheSync ipcache_;
    InterfaceMapSync interfaces_;
    InterfaceGuards& guards_;
    Options options_;

    mutable std::mutex queue_mutex_;
    std::condition_variable_any queue_changed_;
    std::deque<Report> queue_;

    // Owned by the run() thread.
    WorkloadTable table_;
    std::map<std::string, identity::SourceHealth> sources_;
    std::set<std::string> synced_once_;
    std::map<std::string, identity::Workload> guarded_as_; // what each workload was planned from
    std::map<std::string, std::string> plan_errors_;
    std::map<IpAddress, std::string> workload_names_; // as of the last reconcile
    RemoteWorkloads remote_;                          // as last set
    RemoteWorkloads remote_applied_;                  // in the ipcache as of the last reconcile
    std::string ipcache_error_;
    std::string interface_error_;
    NetnsCookies netns_cookies_;
    std::map<std::string, datapath::InterfaceKey> interface_keys_; // by guard point key
    // Link-local addresses read from the workloads' interfaces -> identity id: in the ipcache
    // unless a runtime reported the address for a workload itself.
    std::map<IpAddress, uint32_t> link_local_owners_;
    bool stale_pins_removed_ = false;
    uint64_t reconciles_ = 0;

    mutable std::mutex snapshot_mutex_;
    std::shared_ptr<const NodeSnapshot> snapshot_;
};

} // namespace flowwall::daemon
