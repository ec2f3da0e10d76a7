// SPDX-License-Identifier: Apache-2.0
// Other nodes' workload addresses as read from the store, and which claim wins an address.
//
// Every node must come to the same answer from the same keys, whatever order the watch
// delivered them in, so the winner is chosen from the store's own facts, never from which
// write came last: the claim created first (lowest create revision, one counter for the whole
// etcd cluster) wins; equal revisions cannot happen, but the node name breaks a tie anyway.
// A local workload's address is never given to a remote claim: the node's own sources know
// better than any other node what its workloads hold.
//
// Pure (no I/O): the cluster agent feeds it puts, deletes and relists, and asks it for the
// winners; tests drive it directly.
#pragma once

#include "src/cluster/store_entry.h"
#include "src/cluster/store_values.h"
#include "src/common/ip_address.h"
#include "src/common/result.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace flowwall::cluster {

struct RemoteEndpoint {
    IpAddress address;
    std::string node;
    EndpointRecord record;
    int64_t create_revision = 0;
    bool operator==(const RemoteEndpoint&) const = default;
};

struct AddressConflict {
    IpAddress address;
    std::string winner;              // node
    std::vector<std::string> losers; // nodes, and "local" for a local workload
};

class RemoteEndpoints {
public:
    // own_node's keys are skipped: this node publishes them and knows its own workloads.
    explicit RemoteEndpoints(std::string own_node) : own_node_(std::move(own_node)) {}

    // A put seen on the watch (or in a list). A refused key or value leaves the state as it
    // was, except that an earlier claim under the same key is dropped (the key no longer
    // says anything valid); the error names the key and what was wrong.
    Status put(const StoreEntry& entry);
    // A delete seen on the watch; unknown keys are fine.
    void remove(const std::string& key);
    // A relist (start-up, a lost or compacted watch): replaces everything. Returns the
    // refusals, one per bad entry.
    std::vector<Error> replace_all(const std::vector<StoreEntry>& entries);
    // A node's lease expired or its record went: etcd deletes its keys, and this drops what
    // is left of them at once.
    void drop_node(const std::string& node);

    // The winning claim of every address not held by a local workload, and the conflicts
    // (several claims, or a claim on a local address).
    struct Resolution {
        std::map<IpAddress, RemoteEndpoint> winners;
        std::vector<AddressConflict> conflicts;
    };
    Resolution resolve(const std::set<IpAddress>& local_addresses) const;

    size_t size() const { return by_key_.size(); }
    std::set<std::string> nodes() const;

private:
    std::string own_node_;
    std::map<std::string, RemoteEndpoint> by_key_;
};

} // namespace flowwall::cluster
