// SPDX-License-Identifier: Apache-2.0
// This node's part in the cluster: publishes the node record and every local workload
// address under leases it keeps alive, and follows every other node's addresses through a
// watch, handing the winning claims (remote_endpoints.h) to the daemon for the ipcache.
// The model goes both ways too: what this node learns (or an operator changes on it) is
// queued (publish_queue.h, persisted) and written in transactions of up to 128 keys, without
// a lease; every node's flows and identity sightings are merged (shared_model.h) and handed
// to the daemon for its model and policy map.
//
// Two threads, because each blocks on its own stream: the publisher (leases, keep-alive, the
// diff of local addresses against what it published) and the follower (list, then watch
// from the list's revision; relist when the watch is compacted or lost). When the store is
// unreachable neither touches what the daemon enforces: the last remote view stays in force,
// local changes wait, and both retry until the store answers again.
#pragma once

#include "src/cluster/etcd_client.h"
#include "src/cluster/publish_queue.h"
#include "src/cluster/remote_endpoints.h"
#include "src/cluster/shared_model.h"
#include "src/cluster/store_values.h"
#include "src/common/ip_address.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace flowwall::cluster {

// An etcd put with a lease gets slower as more keys share the lease: at most this many keys
// are bound to one lease, and a node with more workload addresses takes more leases.
inline constexpr size_t kMaxKeysPerLease = 1000;

using LocalEndpoints = std::map<IpAddress, EndpointRecord>;
using RemoteWinners = std::map<IpAddress, RemoteEndpoint>;

struct ClusterNodeView {
    NodeRecord record;
    bool self = false;
    size_t endpoints = 0; // addresses it publishes (as seen here)
};

struct ClusterStatus {
    bool enabled = false;
    bool store_reachable = false;
    std::string error; // the last failure talking to the store, empty when reachable
    std::chrono::system_clock::time_point last_contact{};
    size_t remote_endpoints = 0; // winning remote claims in force
    size_t conflicts = 0;        // addresses claimed more than once (resolved)
    uint64_t refused_values = 0; // hostile or broken store entries refused so far
    uint64_t relists = 0;        // full lists (start, lost or compacted watch)
    size_t published = 0;        // local addresses in the store
    size_t pending = 0;          // local changes not yet published
    // The model's publish queue.
    size_t queued = 0;
    size_t queue_max = 0;
    uint64_t queue_dropped = 0; // refused because the queue was full (republished later)
    std::string queue_error;    // the last failure to save or load the queue file
    uint64_t model_writes = 0;  // transactions that published model keys
    uint64_t model_keys_published = 0;
    size_t model_flows = 0;    // flows in the cluster's model (as merged here)
    bool model_synced = false; // the first list of the store was applied
    std::vector<ClusterNodeView> nodes;
};

class ClusterAgent {
public:
    struct Options {
        EtcdOptions store;
        std::string node;
        std::string version;
        std::chrono::system_clock::time_point started_at;
        std::chrono::seconds lease_ttl{15};
        std::chrono::milliseconds retry_interval{1000};
        // Called from the follower's thread with every new set of winning remote claims.
        std::function<void(const RemoteWinners&)> on_remote;
        // Where the publish queue is kept (<state dir>/cluster-queue.json).
        std::filesystem::path queue_file;
        size_t queue_max = kDefaultMaxQueued;
        // Called from the follower's thread with the flows and identity sightings of the
        // cluster's model that changed (after the first list: all of them).
        std::function<void(const std::vector<ClusterFlowChange>&,
                           const std::map<std::string, policy::TimePoint>&)>
            on_model;
    };
    explicit ClusterAgent(Options options);
    ~ClusterAgent(); // stops both threads; the leases are left to expire (see stop_and_leave)
    ClusterAgent(const ClusterAgent&) = delete;
    ClusterAgent& operator=(const ClusterAgent&) = delete;

    void start();
    // The node's workload addresses now (the daemon calls this after each reconcile).
    void set_local(LocalEndpoints local, bool healthy);
    ClusterStatus status() const;

    // What this node learned or an operator changed on it, to publish: flows (their record as
    // this node knows it), flows removed here, identities first seen here. Queued and saved
    // before it returns; published when the store answers.
    void publish_model(const std::vector<policy::FlowRecord>& flows,
                       const std::vector<policy::FlowKey>& removed,
                       const std::map<std::string, policy::TimePoint>& identities);
    // True once after the queue file was refused or the queue overflowed and has drained
    // since: the caller hands the whole model to publish_model() again.
    bool take_republish_request();
    // Waits until the first list of the store was applied (on_model called), or the timeout.
    bool wait_model_synced(std::chrono::milliseconds timeout);

private:
    struct Lease {
        int64_t id = 0;
        std::unique_ptr<LeaseKeepAlive> keeper;
        size_t keys = 0;
    };
    void publish_loop(std::stop_token stop);
    void follow_loop(std::stop_token stop);
    bool ensure_client(std::unique_ptr<EtcdClient>& client);
    Status publish_changes(const LocalEndpoints& local, bool healthy, size_t workloads);
    Result<int64_t> lease_for_new_key();
    Status refresh_leases();
    void drop_leases();
    Status publish_queued(std::chrono::milliseconds keep_alive_every);
    Status follow_once(std::stop_token stop);
    void apply_model_entry(const StoreEntry& entry, bool is_put);
    void notify_model();
    void apply_node_entry(const StoreEntry& entry, bool is_put);
    void resolve_and_notify();
    void store_failed(const Error& error);
    void store_answered();

    Options options_;
    // One client (one gRPC channel) per thread, each touched only by its thread and replaced
    // after a failure: a channel that saw the store go away was seen to keep timing out its
    // handshakes with an etcd that was back, where a fresh channel connects at once.
    std::unique_ptr<EtcdClient> publisher_client_;
    std::unique_ptr<EtcdClient> follower_client_;

    mutable std::mutex mutex_;
    std::condition_variable_any changed_;
    LocalEndpoints local_;
    bool healthy_ = true;
    bool local_changed_ = true;
    ClusterStatus status_;
    std::map<std::string, NodeRecord> nodes_;
    std::optional<PublishQueue> queue_; // none when its file could not be written or read
    bool republish_ = false;
    std::condition_variable synced_;

    // Publisher thread only.
    std::vector<Lease> leases_;
    std::map<IpAddress, std::pair<EndpointRecord, size_t>> published_; // -> lease index
    std::string published_node_record_;

    // Follower thread only (and resolve under mutex_).
    RemoteEndpoints remote_;
    RemoteWinners winners_;
    SharedModel shared_;
    std::map<IpAddress, std::string> logged_conflicts_;

    std::jthread publisher_;
    std::jthread follower_;
    std::mutex watch_mutex_;
    WatchStream* watch_ = nullptr; // the follower's current stream, for cancel on stop
};

} // namespace flowwall::cluster
