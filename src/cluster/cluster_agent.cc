// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/cluster_agent.h"

#include "src/cluster/cluster_keys.h"
#include "src/cluster/model_values.h"

#include <spdlog/spdlog.h>

#include <set>

namespace flowwall::cluster {

namespace {

bool is_model_key(const std::string& key) {
    return key.starts_with(flows_prefix()) || key.starts_with(identities_prefix());
}

} // namespace

ClusterAgent::ClusterAgent(Options options) : options_(std::move(options)), remote_(options_.node) {
    status_.enabled = true;
    status_.queue_max = options_.queue_max;
    if (options_.queue_file.empty())
        return; // tests of the address half only
    auto loaded = PublishQueue::load(options_.queue_file, options_.node, options_.queue_max);
    if (!loaded) {
        // Never a reason not to start: the queue only holds what to tell the others, and the
        // model on disk has all of it; so set the file aside and publish the model again.
        spdlog::error("cluster publish queue: {}", loaded.error().message);
        status_.queue_error = loaded.error().message;
        if (auto moved = PublishQueue::set_aside(options_.queue_file); !moved)
            spdlog::error("cluster publish queue: {}", moved.error().message);
        loaded = PublishQueue::load(options_.queue_file, options_.node, options_.queue_max);
        republish_ = true;
    }
    if (loaded) {
        queue_.emplace(std::move(loaded.value()));
        // First start in a cluster (or with a node that kept no queue): the model this node
        // has may never have been published.
        republish_ = republish_ || queue_->first_start() || queue_->overflowed();
        status_.queued = queue_->size();
    }
}

void ClusterAgent::publish_model(const std::vector<policy::FlowRecord>& flows,
                                 const std::vector<policy::FlowKey>& removed,
                                 const std::map<std::string, policy::TimePoint>& identities) {
    if (flows.empty() && removed.empty() && identities.empty())
        return;
    {
        std::lock_guard lock(mutex_);
        if (!queue_)
            return;
        for (const auto& record : flows)
            queue_->push(flow_key(options_.node, record.key), encode_flow(record));
        for (const auto& flow : removed)
            queue_->push(flow_key(options_.node, flow), encode_flow_removal());
        for (const auto& [identity, seen] : identities)
            queue_->push(identity_key(options_.node, identity), encode_identity_seen(seen));
        if (queue_->dropped() > status_.queue_dropped && status_.queue_dropped == 0)
            spdlog::warn("cluster publish queue is full ({} entries): this node republishes "
                         "its whole model once the store has taken the queue",
                         queue_->max_entries());
        status_.queue_dropped = queue_->dropped();
        status_.queued = queue_->size();
        // Saved before anything is published: a restart in between loses nothing.
        if (queue_->dirty()) {
            if (auto saved = queue_->save(); !saved) {
                status_.queue_error = saved.error().to_string();
                spdlog::error("cluster publish queue: {}", status_.queue_error);
            }
        }
    }
    changed_.notify_all();
}

bool ClusterAgent::take_republish_request() {
    std::lock_guard lock(mutex_);
    if (!republish_ || !queue_)
        return false;
    // After an overflow, only once the queue has drained: else the model overflows it again.
    if (queue_->overflowed()) {
        if (!queue_->empty())
            return false;
        queue_->clear_overflow();
    }
    republish_ = false;
    return true;
}

bool ClusterAgent::wait_model_synced(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return synced_.wait_for(lock, timeout, [this] { return status_.model_synced; });
}

ClusterAgent::~ClusterAgent() {
    publisher_.request_stop();
    follower_.request_stop();
    {
        std::lock_guard lock(watch_mutex_);
        if (watch_)
            watch_->cancel();
    }
    changed_.notify_all();
    // Joined here, not by the members' destructors: the threads use members declared after
    // them.
    if (publisher_.joinable())
        publisher_.join();
    if (follower_.joinable())
        follower_.join();
}

void ClusterAgent::start() {
    publisher_ = std::jthread([this](std::stop_token stop) { publish_loop(stop); });
    follower_ = std::jthread([this](std::stop_token stop) { follow_loop(stop); });
}

void ClusterAgent::set_local(LocalEndpoints local, bool healthy) {
    {
        std::lock_guard lock(mutex_);
        if (local == local_ && healthy == healthy_)
            return;
        local_ = std::move(local);
        healthy_ = healthy;
        local_changed_ = true;
    }
    changed_.notify_all();
}

ClusterStatus ClusterAgent::status() const {
    std::lock_guard lock(mutex_);
    ClusterStatus status = status_;
    status.nodes.clear();
    std::map<std::string, size_t> per_node;
    for (const auto& [address, winner] : winners_)
        ++per_node[winner.node];
    for (const auto& [name, record] : nodes_)
        status.nodes.push_back({record, name == options_.node,
                                name == options_.node ? status_.published : per_node[name]});
    return status;
}

bool ClusterAgent::ensure_client(std::unique_ptr<EtcdClient>& client) {
    if (client)
        return true;
    auto connected = EtcdClient::connect(options_.store);
    if (!connected) {
        store_failed(connected.error());
        return false;
    }
    client = std::move(connected.value());
    return true;
}

void ClusterAgent::store_failed(const Error& error) {
    std::lock_guard lock(mutex_);
    // Once per outage: gRPC words the same failure many ways.
    if (status_.store_reachable || status_.error.empty())
        spdlog::warn("cluster store: {}; enforcing with what this node has, retrying",
                     error.message);
    status_.store_reachable = false;
    status_.error = error.message;
}

void ClusterAgent::store_answered() {
    std::lock_guard lock(mutex_);
    if (!status_.store_reachable && !status_.error.empty())
        spdlog::info("cluster store: reachable again");
    status_.store_reachable = true;
    status_.error.clear();
    status_.last_contact = std::chrono::system_clock::now();
}

// ---- publisher ----

void ClusterAgent::drop_leases() {
    leases_.clear();
    published_.clear();
    published_node_record_.clear();
}

Result<int64_t> ClusterAgent::lease_for_new_key() {
    for (auto& lease : leases_)
        if (lease.keys < kMaxKeysPerLease)
            return static_cast<int64_t>(&lease - leases_.data());
    auto granted = publisher_client_->grant_lease(options_.lease_ttl.count());
    if (!granted)
        return granted.error();
    auto keeper = publisher_client_->keep_alive(granted.value());
    if (!keeper)
        return keeper.error();
    leases_.push_back(Lease{granted.value(), std::move(keeper.value()), 0});
    return static_cast<int64_t>(leases_.size() - 1);
}

Status ClusterAgent::refresh_leases() {
    for (auto& lease : leases_) {
        if (!lease.keeper) { // a new channel since the last refresh
            auto keeper = publisher_client_->keep_alive(lease.id);
            if (!keeper)
                return keeper.error();
            lease.keeper = std::move(keeper.value());
        }
        auto refreshed = lease.keeper->refresh();
        if (!refreshed) {
            if (refreshed.error().errnum == ENOENT) {
                // Expired while the store was out of reach: its keys are gone; publish all
                // again under new leases.
                spdlog::warn("cluster store: {}; publishing this node again",
                             refreshed.error().message);
                drop_leases();
                return {};
            }
            return refreshed.error(); // the stream broke: a new channel and stream next time
        }
    }
    return {};
}

Status ClusterAgent::publish_changes(const LocalEndpoints& local, bool healthy, size_t workloads) {
    // The node record first, so that readers know the node of the addresses that follow.
    auto started =
        std::chrono::duration_cast<std::chrono::seconds>(options_.started_at.time_since_epoch())
            .count();
    std::string record = encode_node(
        {options_.node, options_.version, started, healthy ? "ok" : "degraded", workloads});
    if (record != published_node_record_) {
        auto lease = lease_for_new_key();
        if (!lease)
            return lease.error();
        auto& chosen = leases_[static_cast<size_t>(lease.value())];
        if (auto put = publisher_client_->put(node_key(options_.node), record, chosen.id); !put)
            return put.error();
        if (published_node_record_.empty())
            ++chosen.keys;
        published_node_record_ = record;
    }
    for (auto it = published_.begin(); it != published_.end();) {
        if (local.contains(it->first)) {
            ++it;
            continue;
        }
        if (auto deleted = publisher_client_->delete_key(endpoint_key(options_.node, it->first));
            !deleted)
            return deleted.error();
        if (it->second.second < leases_.size())
            --leases_[it->second.second].keys;
        it = published_.erase(it);
    }
    for (const auto& [address, endpoint] : local) {
        auto known = published_.find(address);
        if (known != published_.end() && known->second.first == endpoint)
            continue;
        size_t index = 0;
        if (known != published_.end()) {
            index = known->second.second;
        } else {
            auto lease = lease_for_new_key();
            if (!lease)
                return lease.error();
            index = static_cast<size_t>(lease.value());
        }
        if (auto put = publisher_client_->put(endpoint_key(options_.node, address),
                                              encode_endpoint(endpoint), leases_[index].id);
            !put)
            return put.error();
        if (known == published_.end())
            ++leases_[index].keys;
        published_.insert_or_assign(address, std::pair{endpoint, index});
    }
    return {};
}

void ClusterAgent::publish_loop(std::stop_token stop) {
    // Keep-alive well within the TTL, so one late round trip does not lose the lease.
    const auto keep_alive_every = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(200),
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 3);
    while (!stop.stop_requested()) {
        if (!ensure_client(publisher_client_)) {
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, stop, options_.retry_interval, [] { return false; });
            continue;
        }
        LocalEndpoints local;
        bool healthy = true;
        {
            std::lock_guard lock(mutex_);
            local = local_;
            healthy = healthy_;
            local_changed_ = false;
        }
        std::set<std::string> workloads;
        for (const auto& [address, endpoint] : local)
            workloads.insert(endpoint.workload);
        Status done = refresh_leases();
        if (done)
            done = publish_changes(local, healthy, workloads.size());
        if (done)
            done = publish_queued(keep_alive_every);
        size_t pending = 0;
        for (const auto& [address, endpoint] : local) {
            auto known = published_.find(address);
            pending += known == published_.end() || !(known->second.first == endpoint) ? 1 : 0;
        }
        for (const auto& [address, entry] : published_)
            pending += local.contains(address) ? 0 : 1;
        {
            std::lock_guard lock(mutex_);
            status_.published = published_.size();
            status_.pending = pending;
        }
        if (!done) {
            store_failed(done.error());
            for (auto& lease : leases_)
                lease.keeper.reset(); // streams of the channel that goes now
            publisher_client_.reset();
            if (done.error().errnum == EACCES)
                spdlog::error("cluster store refused this node's write: {}", done.error().message);
        } else {
            store_answered();
        }
        // After a failure, the retry interval, whatever changes meanwhile: what is left to
        // publish is the diff against published_, so nothing is lost by waiting.
        std::unique_lock lock(mutex_);
        if (done)
            changed_.wait_for(lock, stop, keep_alive_every,
                              [this] { return local_changed_ || (queue_ && !queue_->empty()); });
        else
            changed_.wait_for(lock, stop, options_.retry_interval, [] { return false; });
    }
}

Status ClusterAgent::publish_queued(std::chrono::milliseconds keep_alive_every) {
    // A large queue (a store back after a long outage, a first start with a big model) takes
    // many transactions: the leases are refreshed between them, so the node's addresses do
    // not expire while its model is being published.
    auto refreshed_at = std::chrono::steady_clock::now();
    auto saved_at = refreshed_at;
    Status outcome;
    while (true) {
        std::vector<std::pair<std::string, std::string>> batch;
        {
            std::lock_guard lock(mutex_);
            if (queue_)
                batch = queue_->peek(kMaxTxnOps);
        }
        if (batch.empty())
            break;
        if (auto put = publisher_client_->put_all(batch); !put) {
            outcome = put.error();
            break;
        }
        auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(mutex_);
            queue_->done(batch);
            ++status_.model_writes;
            status_.model_keys_published += batch.size();
            status_.queued = queue_->size();
            if (queue_->dirty() && (queue_->empty() || now - saved_at > std::chrono::seconds(2))) {
                saved_at = now;
                if (auto saved = queue_->save(); !saved)
                    status_.queue_error = saved.error().to_string();
            }
        }
        if (now - refreshed_at > keep_alive_every) {
            refreshed_at = now;
            if (auto refreshed = refresh_leases(); !refreshed)
                return refreshed;
        }
    }
    std::lock_guard lock(mutex_);
    if (queue_ && queue_->dirty())
        if (auto saved = queue_->save(); !saved)
            status_.queue_error = saved.error().to_string();
    return outcome;
}

// ---- follower ----

void ClusterAgent::apply_model_entry(const StoreEntry& entry, bool is_put) {
    if (!is_put) {
        shared_.remove(entry.key);
        return;
    }
    if (auto put = shared_.put(entry); !put) {
        std::lock_guard lock(mutex_);
        ++status_.refused_values;
        spdlog::warn("cluster store: refused {}", put.error().message);
    }
}

void ClusterAgent::notify_model() {
    auto changes = shared_.take_changes();
    auto identities = shared_.take_identity_changes();
    bool first = false;
    {
        std::lock_guard lock(mutex_);
        status_.model_flows = shared_.flows();
        // A removal the store has not yet seen this node's newer claim of (it waits in the
        // queue) must not take a flow this node has just learned.
        const std::string removal = encode_flow_removal();
        if (queue_)
            std::erase_if(changes, [&](const ClusterFlowChange& change) {
                const std::string* pending = queue_->find(flow_key(options_.node, change.key));
                return change.removed && pending && *pending != removal;
            });
        first = !status_.model_synced;
    }
    if ((first || !changes.empty() || !identities.empty()) && options_.on_model)
        options_.on_model(changes, identities);
    if (first) {
        {
            std::lock_guard lock(mutex_);
            status_.model_synced = true;
        }
        synced_.notify_all();
    }
}

void ClusterAgent::apply_node_entry(const StoreEntry& entry, bool is_put) {
    auto parsed = parse_key(entry.key);
    if (!parsed || parsed.value().kind != KeyKind::node)
        return;
    const std::string& name = parsed.value().node;
    std::lock_guard lock(mutex_);
    if (!is_put) {
        nodes_.erase(name);
        return;
    }
    auto record = decode_node(name, entry.value);
    if (!record) {
        ++status_.refused_values;
        spdlog::warn("cluster store: refused key \"{}\": {}", entry.key, record.error().message);
        nodes_.erase(name);
        return;
    }
    nodes_.insert_or_assign(name, record.value());
}

void ClusterAgent::resolve_and_notify() {
    std::set<IpAddress> local;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [address, endpoint] : local_)
            local.insert(address);
    }
    auto resolution = remote_.resolve(local);
    std::map<IpAddress, std::string> conflicts;
    for (const auto& conflict : resolution.conflicts) {
        std::string summary = conflict.winner;
        for (const auto& loser : conflict.losers)
            summary += " " + loser;
        conflicts.emplace(conflict.address, summary);
        auto logged = logged_conflicts_.find(conflict.address);
        if (logged == logged_conflicts_.end() || logged->second != summary)
            spdlog::warn("cluster: address {} is claimed by {}; {} keeps it (the first claim "
                         "in the store wins; a local workload always does)",
                         conflict.address.to_string(),
                         fmt::format("{}", fmt::join(conflict.losers, ", ")) +
                             (conflict.winner == "local" ? "" : " and " + conflict.winner),
                         conflict.winner == "local" ? "this node's workload"
                                                    : "node " + conflict.winner);
    }
    logged_conflicts_ = std::move(conflicts);
    bool changed = false;
    {
        std::lock_guard lock(mutex_);
        changed = resolution.winners != winners_;
        winners_ = resolution.winners;
        status_.remote_endpoints = winners_.size();
        status_.conflicts = resolution.conflicts.size();
    }
    if (changed && options_.on_remote)
        options_.on_remote(resolution.winners);
}

Status ClusterAgent::follow_once(std::stop_token stop) {
    auto listed = follower_client_->range_prefix(std::string(kKeyPrefix));
    if (!listed)
        return listed.error();
    store_answered();
    std::vector<StoreEntry> endpoints;
    std::vector<StoreEntry> model;
    {
        std::lock_guard lock(mutex_);
        nodes_.clear();
        ++status_.relists;
    }
    // Moved out, and the list freed before the watch: at 100,000 flows it is tens of MiB
    // that the node would otherwise hold for as long as the watch lasts.
    const int64_t revision = listed.value().revision;
    for (auto& entry : listed.value().entries) {
        if (entry.key.starts_with(nodes_prefix()))
            apply_node_entry(entry, true);
        else if (is_model_key(entry.key))
            model.push_back(std::move(entry));
        else
            endpoints.push_back(std::move(entry));
    }
    listed.value().entries = {};
    auto refused = remote_.replace_all(endpoints);
    for (auto& error : shared_.replace_all(model))
        refused.push_back(std::move(error));
    for (const auto& error : refused) {
        std::lock_guard lock(mutex_);
        ++status_.refused_values;
        spdlog::warn("cluster store: refused {}", error.message);
    }
    endpoints = {};
    model = {};
    resolve_and_notify();
    notify_model();

    auto watch = follower_client_->watch_prefix(std::string(kKeyPrefix), revision + 1);
    if (!watch)
        return watch.error();
    {
        std::lock_guard lock(watch_mutex_);
        watch_ = watch.value().get();
    }
    std::stop_callback cancel_on_stop(stop, [this] {
        std::lock_guard lock(watch_mutex_);
        if (watch_)
            watch_->cancel();
    });
    Status outcome;
    while (!stop.stop_requested()) {
        auto batch = watch.value()->next();
        if (!batch) {
            outcome = batch.error();
            break;
        }
        if (batch.value().canceled) {
            spdlog::info("cluster store: watch ended ({}); listing again", batch.value().reason);
            break;
        }
        store_answered();
        // Each half is resolved only when its keys changed: while a node publishes its
        // model, batches of flows must not cost a resolution of every address each.
        bool addresses_changed = false;
        bool model_changed = false;
        for (const auto& event : batch.value().events) {
            bool model_key = is_model_key(event.entry.key);
            (model_key ? model_changed : addresses_changed) = true;
            if (event.entry.key.starts_with(nodes_prefix())) {
                apply_node_entry(event.entry, event.is_put);
            } else if (model_key) {
                apply_model_entry(event.entry, event.is_put);
            } else if (event.is_put) {
                if (auto put = remote_.put(event.entry); !put) {
                    std::lock_guard lock(mutex_);
                    ++status_.refused_values;
                    spdlog::warn("cluster store: refused {}", put.error().message);
                }
            } else {
                remote_.remove(event.entry.key);
            }
        }
        if (addresses_changed)
            resolve_and_notify();
        if (model_changed)
            notify_model();
    }
    std::lock_guard lock(watch_mutex_);
    watch_ = nullptr;
    return outcome;
}

void ClusterAgent::follow_loop(std::stop_token stop) {
    std::mutex wait_mutex; // only stop or the retry interval wake it
    while (!stop.stop_requested()) {
        Status followed = ensure_client(follower_client_) ? follow_once(stop) : Status{};
        if (stop.stop_requested())
            break;
        if (!followed) {
            store_failed(followed.error());
            follower_client_.reset();
        }
        // Never clear the remote view here: what the ipcache holds stays in force while the
        // store is away.
        std::unique_lock lock(wait_mutex);
        changed_.wait_for(lock, stop, options_.retry_interval, [] { return false; });
    }
}

} // namespace flowwall::cluster
