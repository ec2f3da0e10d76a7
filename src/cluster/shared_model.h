// SPDX-License-Identifier: Apache-2.0
// The cluster's model as read from the store: every node's claims on every flow (cluster_keys.h
// flows/), and when each node first saw each identity (identities/), merged the same way on
// every node whatever order the watch delivered them in.
//
// Merge rules (docs/architecture.md, "The cluster's model"):
// - A node's key for a flow holds the flow as that node knows it, or its removal.
// - A flow is in the cluster's model when some node's claim on it is newer (a higher etcd
//   mod revision: one counter for the whole store) than the newest removal of it. An
//   operator's `model remove` on any node thus removes it everywhere, and a node that learns
//   it again afterwards brings it back, as on a single node.
// - The flow's record is the union of the claims newer than that removal: first seen the
//   earliest, last seen the latest, count the largest (a claim is a snapshot, so counts are
//   not added), workloads the union (the 16 first by name), nodes the nodes that claim it,
//   origin that of the oldest claim.
// - An identity's first sighting in the cluster is the earliest any node published.
//
// Pure (no I/O): the cluster agent feeds it puts, deletes and relists; tests drive it directly.
#pragma once

#include "src/cluster/store_entry.h"
#include "src/common/result.h"
#include "src/policy/model.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flowwall::cluster {

struct ClusterFlowChange {
    policy::FlowKey key;
    // The cluster's merged record; nullopt when the flow is not in the cluster's model.
    std::optional<policy::FlowRecord> record;
    // Not in the model because a removal is the newest claim (not merely: nobody claims it).
    bool removed = false;
    bool operator==(const ClusterFlowChange&) const = default;
};

class SharedModel {
public:
    // A put of a flows/ or identities/ key seen on the watch or in a list. A refused key or
    // value drops the earlier claim under the same key (it no longer says anything valid); the
    // error names the key and what was wrong.
    Status put(const StoreEntry& entry);
    // A delete seen on the watch; keys of other folders and unknown keys are fine.
    void remove(const std::string& key);
    // A relist: replaces everything (every flow known before or after counts as changed).
    // Returns the refusals, one per bad entry.
    std::vector<Error> replace_all(const std::vector<StoreEntry>& entries);

    // The flows whose merged state may have changed since the last call, in key order.
    std::vector<ClusterFlowChange> take_changes();
    // The identities whose cluster-wide first sighting may have changed since the last call.
    std::map<std::string, policy::TimePoint> take_identity_changes();

    std::optional<policy::FlowRecord> merged(const policy::FlowKey& flow) const;
    bool removed(const policy::FlowKey& flow) const;
    std::optional<policy::TimePoint> first_seen(const std::string& identity) const;
    size_t flows() const { return flows_.size(); }
    size_t claims() const;

private:
    struct Claim {
        bool removed = false;
        int64_t revision = 0;
        policy::TimePoint first_seen{};
        policy::TimePoint last_seen{};
        uint64_t count = 0;
        std::set<std::string> workloads;
        std::string origin;
    };
    ClusterFlowChange change_of(const policy::FlowKey& flow) const;

    std::map<policy::FlowKey, std::map<std::string, Claim>> flows_;        // -> node -> claim
    std::map<std::string, std::map<std::string, policy::TimePoint>> seen_; // identity -> node
    std::set<policy::FlowKey> touched_;
    std::set<std::string> touched_identities_;
};

} // namespace flowwall::cluster
