// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/remote_endpoints.h"

#include "src/cluster/cluster_keys.h"

#include <algorithm>

namespace flowwall::cluster {

namespace {

Error refused(const std::string& key, const Error& error) {
    // The key is part of the message already when the key itself was bad.
    if (error.message.rfind("key \"", 0) == 0)
        return error;
    return Error{EINVAL, "key \"" + key.substr(0, 120) + "\": " + error.message};
}

// The claim that wins: created first; the node name only breaks a tie.
bool wins_over(const RemoteEndpoint& a, const RemoteEndpoint& b) {
    if (a.create_revision != b.create_revision)
        return a.create_revision < b.create_revision;
    return a.node < b.node;
}

} // namespace

Status RemoteEndpoints::put(const StoreEntry& entry) {
    auto parsed = parse_key(entry.key);
    if (!parsed) {
        by_key_.erase(entry.key);
        return refused(entry.key, parsed.error());
    }
    if (parsed.value().kind != KeyKind::endpoint)
        return {}; // node records are the node list's
    if (parsed.value().node == own_node_)
        return {};
    auto fail = [&](const Error& error) -> Status {
        by_key_.erase(entry.key);
        return refused(entry.key, error);
    };
    if (auto valid = validate_workload_address(parsed.value().address); !valid)
        return fail(valid.error());
    auto record = decode_endpoint(entry.value);
    if (!record)
        return fail(record.error());
    if (entry.create_revision <= 0)
        return fail(Error{EINVAL, "no create revision"});
    by_key_.insert_or_assign(entry.key, RemoteEndpoint{parsed.value().address, parsed.value().node,
                                                       record.value(), entry.create_revision});
    return {};
}

void RemoteEndpoints::remove(const std::string& key) {
    by_key_.erase(key);
}

std::vector<Error> RemoteEndpoints::replace_all(const std::vector<StoreEntry>& entries) {
    by_key_.clear();
    std::vector<Error> errors;
    for (const auto& entry : entries)
        if (auto status = put(entry); !status)
            errors.push_back(status.error());
    return errors;
}

void RemoteEndpoints::drop_node(const std::string& node) {
    std::erase_if(by_key_, [&](const auto& item) { return item.second.node == node; });
}

RemoteEndpoints::Resolution RemoteEndpoints::resolve(const std::set<IpAddress>& local) const {
    std::map<IpAddress, std::vector<const RemoteEndpoint*>> claims;
    for (const auto& [key, endpoint] : by_key_)
        claims[endpoint.address].push_back(&endpoint);
    Resolution resolution;
    for (auto& [address, claimants] : claims) {
        std::sort(
            claimants.begin(), claimants.end(),
            [](const RemoteEndpoint* a, const RemoteEndpoint* b) { return wins_over(*a, *b); });
        bool held_locally = local.contains(address);
        if (!held_locally)
            resolution.winners.emplace(address, *claimants.front());
        if (claimants.size() == 1 && !held_locally)
            continue;
        AddressConflict conflict{address, held_locally ? "local" : claimants.front()->node, {}};
        for (size_t i = held_locally ? 0 : 1; i < claimants.size(); ++i)
            conflict.losers.push_back(claimants[i]->node);
        resolution.conflicts.push_back(std::move(conflict));
    }
    return resolution;
}

std::set<std::string> RemoteEndpoints::nodes() const {
    std::set<std::string> nodes;
    for (const auto& [key, endpoint] : by_key_)
        nodes.insert(endpoint.node);
    return nodes;
}

} // namespace flowwall::cluster
