// SPDX-License-Identifier: Apache-2.0
#include "src/enforcement/firewall_policy.h"

#include "src/common/json_time.h"
#include "src/datapath/map_keys.h"
#include "src/learning/learning_state_file.h"
#include "src/policy/modes.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace flowwall::enforcement {

using nlohmann::json;
using Clock = std::chrono::system_clock;

namespace {

uint32_t flags_for(const std::string& origin) {
    return origin == "learned" ? FW_POLICY_F_LEARNED : FW_POLICY_F_MANUAL;
}

} // namespace

Result<std::unique_ptr<FirewallPolicy>> FirewallPolicy::open(const PolicyOptions& options,
                                                             identity::IdentityRegistry& registry,
                                                             PolicyMaps maps) {
    auto store = policy::ModelStore::open(options.state_dir);
    if (!store)
        return store.error();
    auto model = store.value().load();
    if (!model)
        return model.error();
    auto schedule_path = options.state_dir / learning::kLearningStateFile;
    auto schedule = learning::load_learning_state(schedule_path, options.learning);
    if (!schedule)
        return schedule.error();
    std::unique_ptr<FirewallPolicy> result(new FirewallPolicy(
        std::move(schedule_path), registry, std::move(maps), options.node, std::move(store.value()),
        std::move(model.value()), std::move(schedule.value())));
    result->kernel_scan_interval_ = options.kernel_scan_interval;
    result->events_lost_ = options.events_lost;

    // The maps may hold what a previous daemon left, or nothing (first start, or maps that
    // were recreated): write the whole model and every mode either way.
    std::lock_guard lock(result->mutex_);
    size_t written = 0;
    for (const auto& record : result->model_.flows()) {
        if (auto status = result->write_flow(record.key, flags_for(record.origin)); !status)
            return status.error();
        ++written;
    }
    result->write_all_modes();
    spdlog::info("model: {} flows loaded into the datapath; {} identities with a learning state",
                 written, result->schedule_.states(Clock::now()).size());
    return result;
}

FirewallPolicy::FirewallPolicy(std::filesystem::path schedule_path,
                               identity::IdentityRegistry& registry, PolicyMaps maps,
                               std::string node, policy::ModelStore store, policy::Model model,
                               learning::LearningSchedule schedule)
    : schedule_path_(std::move(schedule_path)), registry_(registry), maps_(std::move(maps)),
      node_(std::move(node)), store_(std::move(store)), model_(std::move(model)),
      schedule_(std::move(schedule)), saved_changes_(model_.changes()) {}

Status FirewallPolicy::write_flow(const policy::FlowKey& flow, uint32_t flags) {
    auto src = registry_.id_for(flow.src);
    if (!src)
        return src.error();
    auto dst = registry_.id_for(flow.dst);
    if (!dst)
        return dst.error();
    return maps_.policy.update(
        datapath::policy_key(src.value(), dst.value(), flow.port, flow.protocol),
        fw_policy_value{.flags = flags});
}

void FirewallPolicy::write_mode(const std::string& name) {
    uint8_t mode = schedule_.mode_of(name);
    auto id = registry_.id_for(name);
    if (!id) {
        last_error_ = id.error().message;
        spdlog::error("mode of {}: {}", name, last_error_);
        return;
    }
    if (auto written = maps_.modes.update(id.value(), fw_mode_value{.mode = mode}); !written) {
        last_error_ = written.error().to_string();
        spdlog::error("mode of {}: {}", name, last_error_);
    }
}

void FirewallPolicy::write_all_modes() {
    for (const auto& state : schedule_.states(Clock::now()))
        write_mode(state.name);
}

void FirewallPolicy::observe(const std::vector<std::string>& identities) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    std::vector<std::string> seen;
    for (const auto& name : identities) {
        auto cluster = cluster_first_seen_.find(name);
        bool first = cluster != cluster_first_seen_.end() && cluster->second < now
                         ? schedule_.observe_since(name, cluster->second)
                         : schedule_.observe(name, now);
        if (first) {
            seen.push_back(name);
            outbox_identities_.insert_or_assign(name, *schedule_.first_seen(name));
        }
    }
    if (seen.empty())
        return;
    // A learning period that is already over (0s: no learning) ends before the mode is
    // written, not at the next tick: until then the identity would learn what it should block.
    for (const auto& transition : schedule_.tick(now)) {
        if (std::find(seen.begin(), seen.end(), transition.name) != seen.end())
            continue;
        write_mode(transition.name);
        spdlog::info("identity {}: learning ended, now {}", transition.name,
                     policy::mode_name(transition.new_mode));
    }
    for (const auto& name : seen) {
        write_mode(name);
        spdlog::info("identity {} first seen: {}", name,
                     schedule_.mode_of(name) == FW_MODE_LEARN
                         ? "learning"
                         : std::string("now ") + policy::mode_name(schedule_.mode_of(name)));
    }
    schedule_dirty_ = true;
}

void FirewallPolicy::flow_learned(const policy::FlowKey& flow, const std::string& workload,
                                  Clock::time_point when) {
    std::lock_guard lock(mutex_);
    // New here, or known only from other nodes so far: the cluster hears that this node
    // saw it (not at every packet: the datapath reports a flow once per interval).
    const policy::FlowRecord* known = model_.find(flow);
    if (!known || !known->nodes.contains(node_))
        outbox_flows_.insert(flow);
    if (model_.record(flow, when, node_, workload)) {
        schedule_.new_flow(flow.src, when);
        schedule_.new_flow(flow.dst, when);
        schedule_dirty_ = true;
        spdlog::debug("learned {} -> {} {}/{}", flow.src, flow.dst, flow.port,
                      policy::protocol_name(flow.protocol));
    }
}

void FirewallPolicy::tick() {
    std::lock_guard tick_lock(tick_mutex_); // ticks in turn; the API never waits on this one
    if (kernel_scan_due())
        adopt_kernel_flows(Clock::now());

    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    for (const auto& transition : schedule_.tick(now)) {
        write_mode(transition.name);
        schedule_dirty_ = true;
        spdlog::info("identity {}: learning ended, now {}", transition.name,
                     policy::mode_name(transition.new_mode));
    }
    save_locked();
}

bool FirewallPolicy::kernel_scan_due() {
    if (std::chrono::steady_clock::now() < next_kernel_scan_)
        return false;
    next_kernel_scan_ = std::chrono::steady_clock::now() + kernel_scan_interval_;
    if (!events_lost_)
        return true;
    uint64_t lost = events_lost_();
    bool rose = lost != events_lost_at_scan_;
    events_lost_at_scan_ = lost;
    return rose;
}

void FirewallPolicy::adopt_kernel_flows(Clock::time_point now) {
    // Learned flows whose event was lost (a full ring buffer) are in the kernel's map but
    // not in the model: the map is the truth for what is allowed, so the model follows it.
    // The map is read and the names resolved without the policy lock (the registry has its
    // own), and compared in slices, so that at 100,000 flows the event pump and the API wait
    // for one slice at most, not for the whole walk.
    std::vector<policy::FlowKey> learned;
    for (const auto& [key, value] : maps_.policy.entries()) {
        if ((value.flags & FW_POLICY_F_LEARNED) == 0)
            continue;
        auto src = registry_.name_of(key.src_identity);
        auto dst = registry_.name_of(key.dst_identity);
        if (src && dst)
            learned.push_back({std::move(*src), std::move(*dst), key.dst_port, key.protocol});
    }
    constexpr size_t kSlice = 4096;
    for (size_t begin = 0; begin < learned.size(); begin += kSlice) {
        std::lock_guard lock(mutex_);
        for (size_t i = begin; i < std::min(begin + kSlice, learned.size()); ++i) {
            const auto& flow = learned[i];
            if (model_.contains(flow))
                continue;
            model_.record(flow, now, node_, "");
            outbox_flows_.insert(flow);
            schedule_.new_flow(flow.src, now);
            schedule_.new_flow(flow.dst, now);
            schedule_dirty_ = true;
            spdlog::info("adopted {} -> {} {}/{} from the datapath (its event was lost)", flow.src,
                         flow.dst, flow.port, policy::protocol_name(flow.protocol));
        }
    }
}

Status FirewallPolicy::save_schedule_locked() {
    return learning::save_learning_state(schedule_path_, schedule_);
}

void FirewallPolicy::save_locked() {
    if (model_.changes() != saved_changes_) {
        if (auto saved = store_.save(model_); !saved) {
            last_error_ = saved.error().to_string();
            spdlog::error("cannot save the model: {}", last_error_);
        } else {
            saved_changes_ = model_.changes();
        }
    }
    if (schedule_dirty_) {
        if (auto saved = save_schedule_locked(); !saved) {
            last_error_ = saved.error().to_string();
            spdlog::error("cannot save the learning state: {}", last_error_);
        } else {
            schedule_dirty_ = false;
        }
    }
}

std::optional<Clock::time_point> FirewallPolicy::next_deadline() {
    std::lock_guard lock(mutex_);
    return schedule_.next_deadline();
}

void FirewallPolicy::save() {
    std::lock_guard lock(mutex_);
    save_locked();
}

Result<json> FirewallPolicy::set_mode(const std::string& mode_text, const std::string& identity) {
    auto mode = policy::parse_mode(mode_text);
    if (!mode)
        return mode.error();
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    Status changed = identity.empty() ? schedule_.set_mode_all(mode.value(), now)
                                      : schedule_.set_mode(identity, mode.value(), now);
    std::string scope = identity.empty() ? "every identity" : identity;
    std::string message =
        mode.value() == FW_MODE_LEARN
            ? "learning restarted for " + scope
            : scope + " set to " + mode_text +
                  (identity.empty() ? "; identities seen later move to it after their learning"
                                    : "");
    return apply_schedule_change(identity, changed, message);
}

Result<json> FirewallPolicy::relearn(const std::string& identity,
                                     std::optional<std::chrono::milliseconds> duration) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    Status changed = identity.empty() ? schedule_.relearn_all(duration, now)
                                      : schedule_.relearn(identity, duration, now);
    return apply_schedule_change(identity, changed,
                                 "learning restarted for " +
                                     (identity.empty() ? "every identity" : identity));
}

Result<json> FirewallPolicy::apply_schedule_change(const std::string& identity, Status changed,
                                                   const std::string& message) {
    if (!changed)
        return changed.error();
    auto now = Clock::now();
    std::vector<std::string> names;
    if (identity.empty()) {
        for (const auto& state : schedule_.states(now))
            names.push_back(state.name);
    } else {
        names.push_back(identity);
    }
    json changed_modes = json::array();
    for (const auto& name : names) {
        write_mode(name);
        json entry{{"name", name}, {"mode", policy::mode_name(schedule_.mode_of(name))}};
        if (auto left = schedule_.learning_remaining(name, now))
            entry["learning_remaining_s"] = common::whole_seconds(left);
        changed_modes.push_back(entry);
    }
    schedule_dirty_ = true;
    save_locked();
    spdlog::info("mode: {}", message);
    return json{{"message", message},
                {"changed", changed_modes},
                {"after_learning", policy::mode_name(schedule_.after_learning())}};
}

json FirewallPolicy::modes_view() {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    json identities = json::array();
    for (const auto& state : schedule_.states(now)) {
        json entry{{"name", state.name}, {"mode", policy::mode_name(state.mode)}};
        entry["learning_remaining_s"] = common::whole_seconds(state.learning_remaining);
        identities.push_back(entry);
    }
    return {{"after_learning", policy::mode_name(schedule_.after_learning())},
            {"identities", identities}};
}

std::string FirewallPolicy::model_text() {
    std::lock_guard lock(mutex_);
    return model_.to_json_text();
}

Result<json> FirewallPolicy::import_model(const json& document) {
    auto imported = policy::Model::from_document(document, "the imported model");
    if (!imported)
        return imported.error();
    std::lock_guard lock(mutex_);
    for (const auto& record : imported.value().flows())
        if (auto written = write_flow(record.key, FW_POLICY_F_MANUAL); !written)
            return Error{written.error().errnum, "cannot import " + record.key.src + " -> " +
                                                     record.key.dst + ": " +
                                                     written.error().message};
    size_t added = model_.merge(imported.value());
    for (const auto& [key, record] : imported.value().records()) {
        outbox_flows_.insert(key);
        outbox_removed_.erase(key);
    }
    save_locked();
    spdlog::info("model import: {} new flows, {} in all", added, model_.size());
    return json{{"added", added}, {"flows", model_.size()}};
}

Result<json> FirewallPolicy::allow(const policy::FlowKey& flow) {
    std::lock_guard lock(mutex_);
    if (auto written = write_flow(flow, FW_POLICY_F_MANUAL); !written)
        return written.error();
    bool added = model_.allow(flow, Clock::now());
    outbox_flows_.insert(flow);
    outbox_removed_.erase(flow);
    save_locked();
    std::string text = flow.src + " -> " + flow.dst + " " + std::to_string(flow.port) + "/" +
                       policy::protocol_name(flow.protocol);
    return json{{"message", (added ? "allowed " : "already allowed: ") + text}, {"added", added}};
}

Result<json> FirewallPolicy::remove(const policy::FlowKey& flow) {
    std::lock_guard lock(mutex_);
    std::string text = flow.src + " -> " + flow.dst + " " + std::to_string(flow.port) + "/" +
                       policy::protocol_name(flow.protocol);
    if (!model_.remove(flow))
        return Error{ENOENT, "the model has no flow " + text + "; see flowwall model show"};
    outbox_flows_.erase(flow);
    outbox_removed_.insert(flow);
    auto src = registry_.find(flow.src);
    auto dst = registry_.find(flow.dst);
    if (src && dst)
        if (auto erased =
                maps_.policy.erase(datapath::policy_key(*src, *dst, flow.port, flow.protocol));
            !erased)
            return erased.error();
    save_locked();
    return json{{"message", "removed " + text}, {"removed", true}};
}

ModelOutbox FirewallPolicy::take_outbox() {
    std::lock_guard lock(mutex_);
    ModelOutbox outbox;
    for (const auto& flow : outbox_flows_)
        if (const auto* record = model_.find(flow))
            outbox.flows.push_back(*record);
    outbox.removed.assign(outbox_removed_.begin(), outbox_removed_.end());
    outbox.identities = std::move(outbox_identities_);
    outbox_flows_.clear();
    outbox_removed_.clear();
    outbox_identities_.clear();
    return outbox;
}

ModelOutbox FirewallPolicy::whole_model() {
    std::lock_guard lock(mutex_);
    ModelOutbox outbox;
    // This node's own: what it saw, or what an operator allowed here (no node). What came
    // from the others is theirs to claim.
    for (const auto& [key, record] : model_.records())
        if (record.nodes.empty() || record.nodes.contains(node_))
            outbox.flows.push_back(record);
    for (const auto& state : schedule_.states(Clock::now()))
        outbox.identities.emplace(state.name, state.first_seen);
    return outbox;
}

void FirewallPolicy::apply_cluster(const std::vector<policy::FlowRecord>& present,
                                   const std::vector<policy::FlowKey>& removed,
                                   const std::map<std::string, Clock::time_point>& first_seen) {
    std::lock_guard lock(mutex_);
    size_t added = 0;
    for (const auto& record : present) {
        // Into the map first: a flow the model holds must be one the datapath allows.
        if (!model_.contains(record.key)) {
            if (auto written = write_flow(record.key, flags_for(record.origin)); !written) {
                last_error_ = written.error().to_string();
                spdlog::error("cluster flow {}: {}", policy::flow_string(record.key), last_error_);
                continue;
            }
        }
        added += model_.merge_record(record) ? 1 : 0;
    }
    size_t dropped = 0;
    for (const auto& flow : removed) {
        if (outbox_flows_.contains(flow) || !model_.remove(flow))
            continue; // learned here since: this node's claim is newer, and on its way
        ++dropped;
        auto src = registry_.find(flow.src);
        auto dst = registry_.find(flow.dst);
        if (src && dst)
            if (auto erased =
                    maps_.policy.erase(datapath::policy_key(*src, *dst, flow.port, flow.protocol));
                !erased) {
                last_error_ = erased.error().to_string();
                spdlog::error("cluster removal of {}: {}", policy::flow_string(flow), last_error_);
            }
    }
    auto now = Clock::now();
    bool schedule_changed = false;
    for (const auto& [name, seen] : first_seen) {
        cluster_first_seen_.insert_or_assign(name, seen);
        if (schedule_.adopt_first_seen(name, seen)) {
            schedule_changed = true;
            spdlog::info("identity {}: first seen in the cluster at {}; its learning window "
                         "starts then here too",
                         name, policy::format_time(seen));
        }
    }
    if (schedule_changed) {
        // A window moved earlier may be over already: it ends now, on this node as on the
        // node that saw the identity first.
        for (const auto& transition : schedule_.tick(now)) {
            write_mode(transition.name);
            spdlog::info("identity {}: learning ended (the cluster saw it first {}), now {}",
                         transition.name, policy::format_time(cluster_first_seen_[transition.name]),
                         policy::mode_name(transition.new_mode));
        }
        schedule_dirty_ = true;
    }
    if (added > 0 || dropped > 0)
        spdlog::info("cluster model: {} flows added, {} removed; {} in all", added, dropped,
                     model_.size());
}

std::map<std::string, IdentityPolicyView> FirewallPolicy::identity_views() {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    std::map<std::string, IdentityPolicyView> views;
    for (const auto& state : schedule_.states(now)) {
        IdentityPolicyView view;
        view.mode = policy::mode_name(state.mode);
        view.learning_remaining = state.learning_remaining;
        view.since_last_new_flow = schedule_.since_last_new_flow(state.name, now);
        view.quiet_holding = state.quiet_holding;
        view.flows = model_.flows_of(state.name);
        views.emplace(state.name, view);
    }
    return views;
}

std::vector<policy::FlowRecord> FirewallPolicy::flows() {
    std::lock_guard lock(mutex_);
    return model_.flows();
}

size_t FirewallPolicy::flow_count() {
    std::lock_guard lock(mutex_);
    return model_.size();
}

std::string FirewallPolicy::last_error() {
    std::lock_guard lock(mutex_);
    return last_error_;
}

} // namespace flowwall::enforcement
