// SPDX-License-Identifier: Apache-2.0
// What the datapath enforces, kept in one place: the learned model (flows by identity
// name, persisted), each identity's learning schedule and mode, and their reflection in the
// kernel (fw_policy_v1 by identity id, fw_modes_v1 per identity). The kernel learns on its
// own (it inserts a learned flow into fw_policy_v1 before reporting it), so this class
// records what the kernel reports, flips modes when learning ends, and applies what the
// operator changes. Every public method is thread-safe.
#pragma once

#include "src/datapath/typed_map.h"
#include "src/identity/identity_registry.h"
#include "src/learning/learning_schedule.h"
#include "src/policy/model.h"
#include "src/policy/model_store.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flowwall::enforcement {

struct PolicyMaps {
    datapath::TypedMap<fw_policy_key, fw_policy_value> policy;
    datapath::TypedMap<uint32_t, fw_mode_value> modes;
};

struct PolicyOptions {
    std::filesystem::path state_dir; // model.json and learning.json
    learning::LearningConfig learning;
    std::string node; // recorded with each learned flow
    // How often tick() looks in fw_policy for flows the kernel learned whose event was lost.
    std::chrono::milliseconds kernel_scan_interval = std::chrono::seconds(5);
    // The datapath's count of events lost to a full ring (FW_CTR_EVENTS_LOST). When given, the
    // scan runs only at the first tick and after it rose: walking 100,000 flows to find
    // nothing costs about a second of CPU. Without it, every interval.
    std::function<uint64_t()> events_lost;
};

// What changed in the model here and must reach the other nodes (a cluster's, else unused):
// flows learned, allowed or imported here (with their record), flows removed here, and
// identities first seen here.
struct ModelOutbox {
    std::vector<policy::FlowRecord> flows;
    std::vector<policy::FlowKey> removed;
    std::map<std::string, std::chrono::system_clock::time_point> identities;
    bool empty() const { return flows.empty() && removed.empty() && identities.empty(); }
};

struct IdentityPolicyView {
    std::string mode; // learn|alert|block|off
    std::optional<std::chrono::milliseconds> learning_remaining;
    std::optional<std::chrono::milliseconds> since_last_new_flow;
    bool quiet_holding = false;
    size_t flows = 0; // flows of the model that touch the identity
};

class FirewallPolicy {
public:
    // Loads the model and the learning state from the state dir (a file that does not parse
    // falls back to its previous version, or fails start-up: never silently empty), then
    // makes the maps say what they say.
    static Result<std::unique_ptr<FirewallPolicy>>
    open(const PolicyOptions& options, identity::IdentityRegistry& registry, PolicyMaps maps);

    // The identities of the node's workloads right now: new ones start learning.
    void observe(const std::vector<std::string>& identities);
    // The datapath reported a learned flow.
    void flow_learned(const policy::FlowKey& flow, const std::string& workload,
                      std::chrono::system_clock::time_point when);
    // Once a second: ends learning that is due, saves what changed, adopts flows the kernel
    // learned whose events were lost.
    void tick();
    // Saves now (shutdown).
    void save();
    // When the next learning window ends (nullopt: nobody learns): the policy thread ticks
    // then, not up to a second later, so a window ends on every node of a cluster at once.
    std::optional<std::chrono::system_clock::time_point> next_deadline();

    // The cluster (issue 15): what changed here since the last call, to publish...
    ModelOutbox take_outbox();
    // ...or the whole model and every identity, when the store must hear all of it again.
    ModelOutbox whole_model();
    // The cluster's model changed: `present` are its merged records (merged into this
    // model and written into the policy map), `removed` were removed cluster-wide (gone from
    // both, unless learned here since and not yet handed out), `first_seen` the cluster's
    // first sighting of identities (their learning window starts then, here too).
    void
    apply_cluster(const std::vector<policy::FlowRecord>& present,
                  const std::vector<policy::FlowKey>& removed,
                  const std::map<std::string, std::chrono::system_clock::time_point>& first_seen);

    // The control API.
    Result<nlohmann::json> set_mode(const std::string& mode, const std::string& identity);
    Result<nlohmann::json> relearn(const std::string& identity,
                                   std::optional<std::chrono::milliseconds> duration);
    nlohmann::json modes_view();
    // The export document as text: serialised directly (~40 ms for 100k flows) rather than
    // through a json tree (~0.7 s), since it is taken under the lock the event pump needs.
    std::string model_text();
    std::vector<policy::FlowRecord> flows();
    Result<nlohmann::json> import_model(const nlohmann::json& document);
    Result<nlohmann::json> allow(const policy::FlowKey& flow);
    Result<nlohmann::json> remove(const policy::FlowKey& flow);
    std::map<std::string, IdentityPolicyView> identity_views();
    size_t flow_count();
    std::string last_error();

private:
    FirewallPolicy(std::filesystem::path schedule_path, identity::IdentityRegistry& registry,
                   PolicyMaps maps, std::string node, policy::ModelStore store, policy::Model model,
                   learning::LearningSchedule schedule);

    Status write_flow(const policy::FlowKey& flow, uint32_t flags);
    void write_mode(const std::string& name);
    void write_all_modes();
    // Called by tick() only, without the policy lock.
    bool kernel_scan_due();
    void adopt_kernel_flows(std::chrono::system_clock::time_point now);
    void save_locked();
    Status save_schedule_locked();
    // After a schedule change for `identity` (empty: all): writes the modes of those it
    // touched, saves, and gives the API's answer. Called with the lock held.
    Result<nlohmann::json> apply_schedule_change(const std::string& identity, Status changed,
                                                 const std::string& message);

    std::filesystem::path schedule_path_;
    identity::IdentityRegistry& registry_;
    PolicyMaps maps_;
    std::string node_;

    std::mutex mutex_;
    policy::ModelStore store_;
    policy::Model model_;
    learning::LearningSchedule schedule_;
    uint64_t saved_changes_ = 0; // model_.changes() when it was last saved (or loaded)
    bool schedule_dirty_ = false;
    std::string last_error_;
    // The cluster: what take_outbox() hands out next, and when the cluster first saw
    // identities this node has not seen yet (their window starts then once they appear here).
    std::set<policy::FlowKey> outbox_flows_;
    std::set<policy::FlowKey> outbox_removed_;
    std::map<std::string, std::chrono::system_clock::time_point> outbox_identities_;
    std::map<std::string, std::chrono::system_clock::time_point> cluster_first_seen_;
    std::chrono::milliseconds kernel_scan_interval_;
    std::function<uint64_t()> events_lost_;
    std::optional<uint64_t> events_lost_at_scan_; // none before the first scan
    std::mutex tick_mutex_;                       // guards next_kernel_scan_
    std::chrono::steady_clock::time_point next_kernel_scan_{};
};

} // namespace flowwall::enforcement
