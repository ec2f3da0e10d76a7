// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/shared_model.h"

#include "src/cluster/cluster_keys.h"
#include "src/cluster/model_values.h"

#include <algorithm>

namespace flowwall::cluster {

Status SharedModel::put(const StoreEntry& entry) {
    auto parsed = parse_key(entry.key);
    if (!parsed)
        return parsed.error();
    const ParsedKey& key = parsed.value();
    auto refuse = [&](const Error& error) {
        remove(entry.key);
        return Error{EINVAL, "key \"" + entry.key + "\": " + error.message};
    };
    if (key.kind == KeyKind::identity) {
        auto seen = decode_identity_seen(entry.value);
        if (!seen)
            return refuse(seen.error());
        seen_[key.identity][key.node] = seen.value();
        touched_identities_.insert(key.identity);
        return {};
    }
    if (key.kind != KeyKind::flow)
        return Error{EINVAL, "key \"" + entry.key + "\" is not a flow or an identity"};
    auto value = decode_flow(key.flow, entry.value);
    if (!value)
        return refuse(value.error());
    Claim claim;
    claim.removed = value.value().removed;
    claim.revision = entry.mod_revision;
    if (!claim.removed) {
        auto& record = value.value().record;
        claim.first_seen = record.first_seen;
        claim.last_seen = record.last_seen;
        claim.count = record.count;
        claim.workloads = std::move(record.workloads);
        claim.origin = std::move(record.origin);
    }
    flows_[key.flow].insert_or_assign(key.node, std::move(claim));
    touched_.insert(key.flow);
    return {};
}

void SharedModel::remove(const std::string& key) {
    auto parsed = parse_key(key);
    if (!parsed)
        return;
    if (parsed.value().kind == KeyKind::identity) {
        auto found = seen_.find(parsed.value().identity);
        if (found != seen_.end() && found->second.erase(parsed.value().node) > 0) {
            if (found->second.empty())
                seen_.erase(found);
            touched_identities_.insert(parsed.value().identity);
        }
        return;
    }
    if (parsed.value().kind != KeyKind::flow)
        return;
    auto found = flows_.find(parsed.value().flow);
    if (found == flows_.end() || found->second.erase(parsed.value().node) == 0)
        return;
    touched_.insert(found->first);
    if (found->second.empty())
        flows_.erase(found);
}

std::vector<Error> SharedModel::replace_all(const std::vector<StoreEntry>& entries) {
    for (const auto& [flow, claims] : flows_)
        touched_.insert(flow);
    for (const auto& [identity, nodes] : seen_)
        touched_identities_.insert(identity);
    flows_.clear();
    seen_.clear();
    std::vector<Error> refused;
    for (const auto& entry : entries)
        if (auto put_entry = put(entry); !put_entry)
            refused.push_back(put_entry.error());
    return refused;
}

ClusterFlowChange SharedModel::change_of(const policy::FlowKey& flow) const {
    ClusterFlowChange change{flow, std::nullopt, false};
    auto found = flows_.find(flow);
    if (found == flows_.end())
        return change;
    int64_t newest_removal = 0;
    for (const auto& [node, claim] : found->second)
        if (claim.removed)
            newest_removal = std::max(newest_removal, claim.revision);
    std::vector<std::pair<const std::string*, const Claim*>> live;
    for (const auto& [node, claim] : found->second)
        if (!claim.removed && claim.revision > newest_removal)
            live.emplace_back(&node, &claim);
    if (live.empty()) {
        change.removed = newest_removal > 0;
        return change;
    }
    // The oldest claim gives the origin; equal revisions cannot happen (one put each), but
    // the node name orders them anyway so every node merges alike.
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second->revision, *a.first) < std::tie(b.second->revision, *b.first);
    });
    policy::FlowRecord record;
    record.key = flow;
    record.origin = live.front().second->origin;
    record.first_seen = live.front().second->first_seen;
    record.last_seen = live.front().second->last_seen;
    for (const auto& [node, claim] : live) {
        record.first_seen = std::min(record.first_seen, claim->first_seen);
        record.last_seen = std::max(record.last_seen, claim->last_seen);
        record.count = std::max(record.count, claim->count);
        record.nodes.insert(*node);
        for (const auto& workload : claim->workloads)
            record.workloads.insert(workload);
    }
    while (record.workloads.size() > policy::kMaxWorkloadsPerFlow)
        record.workloads.erase(std::prev(record.workloads.end()));
    change.record = std::move(record);
    return change;
}

std::vector<ClusterFlowChange> SharedModel::take_changes() {
    std::vector<ClusterFlowChange> changes;
    changes.reserve(touched_.size());
    for (const auto& flow : touched_)
        changes.push_back(change_of(flow));
    touched_.clear();
    return changes;
}

std::map<std::string, policy::TimePoint> SharedModel::take_identity_changes() {
    std::map<std::string, policy::TimePoint> changes;
    for (const auto& identity : touched_identities_)
        if (auto seen = first_seen(identity))
            changes.emplace(identity, *seen);
    touched_identities_.clear();
    return changes;
}

std::optional<policy::FlowRecord> SharedModel::merged(const policy::FlowKey& flow) const {
    return change_of(flow).record;
}

bool SharedModel::removed(const policy::FlowKey& flow) const {
    return change_of(flow).removed;
}

std::optional<policy::TimePoint> SharedModel::first_seen(const std::string& identity) const {
    auto found = seen_.find(identity);
    if (found == seen_.end() || found->second.empty())
        return std::nullopt;
    policy::TimePoint earliest = found->second.begin()->second;
    for (const auto& [node, time] : found->second)
        earliest = std::min(earliest, time);
    return earliest;
}

size_t SharedModel::claims() const {
    size_t total = 0;
    for (const auto& [flow, claims] : flows_)
        total += claims.size();
    return total;
}

} // namespace flowwall::cluster
