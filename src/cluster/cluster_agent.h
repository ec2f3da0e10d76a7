// SPDX-License-Identifier: Apache-2.0
// This node's part in the cluster: publishes the node record and every local workload
// address under leases it keeps alive, and follows every other node's addresses through a
// watch, handing the winning claims (remote_endpoints.h) to the daemon for the ipcache.
//
// Two threads, because each blocks on its own stream: the publisher (leases, keep-alive, the
// diff of local addresses against what it published) and the follower (list, then watch
// from the list's revision; relist when the watch is compacted or lost). When the store is
// unreachable neither touches what the daemon enforces: the last remote view stays in force,
// local changes wait, and both retry until the store answers again.
#pragma once

#include "src/cluster/etcd_client.h"
#include "src/cluster/remote_endpoints.h"
#include "src/cluster/store_values.h"
#include "src/common/ip_address.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
    };
    explicit ClusterAgent(Options options);
    ~ClusterAgent(); // stops both threads; the leases are left to expire (see stop_and_leave)
    ClusterAgent(const ClusterAgent&) = delete;
    ClusterAgent& operator=(const ClusterAgent&) = delete;

    void start();
    // The node's workload addresses now (the daemon calls this after each reconcile).
    void set_local(LocalEndpoints local, bool healthy);
    ClusterStatus status() const;

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
    Status follow_once(std::stop_token stop);
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

    // Publisher thread only.
    std::vector<Lease> leases_;
    std::map<IpAddress, std::pair<EndpointRecord, size_t>> published_; // -> lease index
    std::string published_node_record_;

    // Follower thread only (and resolve under mutex_).
    RemoteEndpoints remote_;
    RemoteWinners winners_;
    std::map<IpAddress, std::string> logged_conflicts_;

    std::jthread publisher_;
    std::jthread follower_;
    std::mutex watch_mutex_;
    WatchStream* watch_ = nullptr; // the follower's current stream, for cancel on stop
};

} // namespace flowwall::cluster
