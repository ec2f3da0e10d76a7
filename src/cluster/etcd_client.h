// SPDX-License-Identifier: Apache-2.0
// A thin typed client of etcd's v3 API over gRPC (stubs generated at build time from the
// protos Debian ships; docs/architecture.md says why this and not a REST gateway or a
// library): key ranges, puts bound to leases, leases and their keep-alive, and watches that
// resume from a revision. Every call has a deadline; errors are values naming the call and
// saying what to check. Streams are owned RAII: destroying one cancels it.
#pragma once

#include "src/cluster/store_entry.h"
#include "src/cluster/store_url.h"
#include "src/common/result.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace flowwall::cluster {

// etcd's default --max-txn-ops: the most puts put_all() sends in one transaction.
inline constexpr size_t kMaxTxnOps = 128;

struct EtcdOptions {
    std::vector<std::string> endpoints; // "HOST:PORT"
    // TLS with a client certificate when ca_file is set (cert_file and key_file then too).
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::chrono::milliseconds call_timeout = std::chrono::seconds(5);
};

struct RangeResult {
    std::vector<StoreEntry> entries;
    int64_t revision = 0; // the store's revision the list was read at: where a watch resumes
};

struct WatchEvent {
    bool is_put = true; // else a delete
    StoreEntry entry;   // for a delete: key and mod_revision only
};

struct WatchBatch {
    std::vector<WatchEvent> events;
    int64_t revision = 0; // the store's revision as of this batch
    // The revision asked for is compacted away: relist, then watch from the list's revision.
    bool compacted = false;
    bool canceled = false; // the server ended this watch (reason says why)
    std::string reason;
};

class WatchStream {
public:
    virtual ~WatchStream() = default; // cancels
    // Blocks for the next batch. An error when the stream ended (cancel(), the store gone).
    virtual Result<WatchBatch> next() = 0;
    // From any thread: makes a blocked next() return an error.
    virtual void cancel() = 0;
};

class LeaseKeepAlive {
public:
    virtual ~LeaseKeepAlive() = default; // cancels
    // One keep-alive round trip. The lease's remaining TTL in seconds; ENOENT when the lease
    // is gone (expired: everything bound to it was deleted, so publish again under a new one).
    virtual Result<int64_t> refresh() = 0;
};

class EtcdClient {
public:
    // Reads the TLS files and makes the channel; connects lazily (the first call says whether
    // the store answers), so a node starts while the store is down.
    static Result<std::unique_ptr<EtcdClient>> connect(const EtcdOptions& options);
    virtual ~EtcdClient() = default;

    virtual Result<RangeResult> range_prefix(const std::string& prefix) = 0;
    virtual Result<RangeResult> get(const std::string& key) = 0;
    // Returns the store's revision after the put.
    virtual Result<int64_t> put(const std::string& key, const std::string& value,
                                int64_t lease = 0) = 0;
    // Every put in one transaction (one write to the store's log, one revision): all or
    // none. etcd refuses more than --max-txn-ops (128 by default) operations in one.
    virtual Result<int64_t>
    put_all(const std::vector<std::pair<std::string, std::string>>& puts) = 0;
    // Returns how many keys were deleted.
    virtual Result<int64_t> delete_key(const std::string& key) = 0;
    virtual Result<int64_t> delete_prefix(const std::string& prefix) = 0;

    // A lease of ttl seconds; its id.
    virtual Result<int64_t> grant_lease(int64_t ttl_seconds) = 0;
    virtual Status revoke_lease(int64_t lease) = 0;
    virtual Result<std::unique_ptr<LeaseKeepAlive>> keep_alive(int64_t lease) = 0;

    // Watches every key under prefix from start_revision (0: from now).
    virtual Result<std::unique_ptr<WatchStream>> watch_prefix(const std::string& prefix,
                                                              int64_t start_revision) = 0;
    // Compacts the store's history up to revision (tests: to provoke a compacted watch).
    virtual Status compact(int64_t revision) = 0;
};

} // namespace flowwall::cluster
