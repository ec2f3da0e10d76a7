// SPDX-License-Identifier: Apache-2.0
// The per-identity learning state machine (DESIGN.md, Learning; issue 4 items 2 and 3).
//
// Pure: no I/O, no threads, no clock of its own. Every call that depends on time takes
// `now`, so the daemon passes system_clock::now() and the tests drive time by hand. Times
// are wall-clock (system_clock) because learning progress is persisted with absolute times
// and must survive daemon restarts; a steady clock restarts at boot.
//
// Rules, including those the issue leaves open:
// - An identity learns from the moment it is first seen (observe() or new_flow()) for its
//   period: the per-identity override if there is one, else the global period.
// - Learning ends at the first tick() with now >= learning_until (exactly at the boundary,
//   not before) and, with a quiet period, once no new flow touching the identity was seen
//   for `quiet`. The quiet time counts from the later of the last new flow and the start of
//   the current learning phase, so an identity that saw no flow at all still learns for
//   its whole period and is then released at once (its quiet began when learning began).
// - Learning ends in the after-learning action: the config's `after`, unless an operator
//   ran set_mode_all(alert|block|off), which replaces it until the next such call. That
//   operator choice is persisted and wins over the config after a restart; without one,
//   a changed `after` in the config applies to identities that end learning later.
// - A mode set by the operator (alert/block/off) sticks: the identity no longer learns, so
//   no later tick() changes it. Only another set_mode/set_mode_all/relearn does.
// - set_mode_all(alert|block|off) sets every known identity, including those still
//   learning (the issue: "sets every known identity"); they stop learning at once.
// - Reserved identities (unknown, host, world) and CIDR entities (cidr:...) never learn
//   and have no mode in the datapath: observe() and new_flow() ignore them, mode_of()
//   gives FW_MODE_UNSET, and set_mode()/relearn() reject them.
// - set_mode(name)/relearn(name) of a name never observed is an error rather than an
//   implicit registration: a typo must not create an identity.
// - flows_learned counts every new flow that touched the identity since it was first
//   seen, whatever its mode (a flow is learned when either end learns), and is not reset
//   by relearning: the model keeps those flows too.
// - Persisted learning_until is absolute and kept across restarts even when the new config
//   has a different period; the new period applies to the next learning phase (new
//   identities, relearn). The quiet period is not stored per identity: the current config's
//   applies at once.
// - A wall clock stepped backwards prolongs learning (learning_until stays absolute); a
//   step forwards may end it early. Both are preferable to forgetting progress on reboot.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowwall/abi.h"
#include "src/common/result.h"

namespace flowwall::learning {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using std::chrono::milliseconds;

struct LearningConfig {
    milliseconds period = std::chrono::hours(1);          // --learning-period
    milliseconds quiet{0};                                // --learning-quiet; 0: no quiet condition
    uint8_t after = FW_MODE_ALERT;                        // --after-learning: alert|block|off
    std::map<std::string, milliseconds> period_overrides; // per identity name
};

// Durations must not be negative, `after` must be alert, block or off, and overrides must
// name identities that can learn. The error names the field.
Status validate(const LearningConfig& config);

// False for the reserved identities and CIDR entities, which never learn.
bool takes_part_in_learning(std::string_view name);

struct Transition {
    std::string name;
    uint8_t new_mode = FW_MODE_UNSET; // FW_MODE_*
};

struct IdentityState {
    std::string name;
    uint8_t mode = FW_MODE_UNSET; // FW_MODE_LEARN|ALERT|BLOCK|OFF
    TimePoint first_seen;
    // The current learning phase; nullopt when the identity does not learn.
    std::optional<TimePoint> learning_since;
    std::optional<TimePoint> learning_until;
    std::optional<milliseconds> learning_remaining; // see learning_remaining()
    std::optional<TimePoint> last_new_flow;         // nullopt: none seen yet
    uint64_t flows_learned = 0;
    bool quiet_holding = false; // period over, learning held by the quiet condition
};

class LearningSchedule {
public:
    // Fails when validate(config) does.
    static Result<LearningSchedule> create(LearningConfig config);

    // Starts learning for a new identity; true when the name was new. Already known names
    // and names that never learn are left alone (false).
    bool observe(const std::string& name, TimePoint now);
    // The same for an identity the cluster saw first at `first_seen` (another node, earlier):
    // its learning window starts then, so it ends on every node at once. tick(now) ends it
    // if that window is already over.
    bool observe_since(const std::string& name, TimePoint first_seen);
    // The cluster saw a known identity before this node did: its first learning window (if
    // it is still in it) moves to start then, keeping its length. Later windows (relearn)
    // are an operator's and stay. True when anything changed.
    bool adopt_first_seen(const std::string& name, TimePoint first_seen);
    std::optional<TimePoint> first_seen(const std::string& name) const;
    // A flow touching `name` was added to the model: counts it and restarts the quiet time.
    // Observes the name first if needed (the flow proves it exists).
    void new_flow(const std::string& name, TimePoint now);

    // Identities whose learning ended at this tick, sorted by name. A second tick at the
    // same time returns nothing.
    std::vector<Transition> tick(TimePoint now);
    // The earliest time at which tick() could end some identity's learning, assuming no new
    // flow until then; nullopt when nobody learns. Lets the daemon sleep until then.
    std::optional<TimePoint> next_deadline() const;

    // learn: restart learning for the configured period; alert|block|off: end learning with
    // that mode, which sticks. Errors: unknown name, reserved name, mode not one of those.
    Status set_mode(const std::string& name, uint8_t mode, TimePoint now);
    // learn: relearn_all(); alert|block|off: every known identity gets that mode, and it
    // becomes the after-learning action of every identity that learns from now on.
    Status set_mode_all(uint8_t mode, TimePoint now);
    // Restart learning now, for `duration` this time only (else the configured period).
    // Errors: unknown or reserved name, negative duration.
    Status relearn(const std::string& name, std::optional<milliseconds> duration, TimePoint now);
    Status relearn_all(std::optional<milliseconds> duration, TimePoint now);

    uint8_t mode_of(const std::string& name) const; // FW_MODE_UNSET when unknown
    // nullopt when not learning (or unknown); 0 when the period is over and only the quiet
    // condition holds it.
    std::optional<milliseconds> learning_remaining(const std::string& name, TimePoint now) const;
    // nullopt when unknown or no new flow was ever seen.
    std::optional<milliseconds> since_last_new_flow(const std::string& name, TimePoint now) const;
    uint64_t flows_learned(const std::string& name) const; // 0 when unknown
    // Sorted by name. Takes `now` because remaining time and quiet_holding depend on it.
    std::vector<IdentityState> states(TimePoint now) const;

    uint8_t after_learning() const; // the operator's choice if any, else the config's
    const LearningConfig& config() const { return config_; }
    milliseconds period_for(const std::string& name) const;

    // {"version": 1, "after_learning": null | "alert"|"block"|"off" (operator's choice),
    //  "identities": [{"name", "mode", "first_seen_ms", "learning_since_ms",
    //                  "learning_until_ms", "last_new_flow_ms" (null: none), "flows_learned"}]}
    // Times are milliseconds since the Unix epoch. learning_*_ms describe the last learning
    // phase and are informative only when mode is "learn".
    nlohmann::json to_json() const;
    // Strict: unknown keys, missing keys, wrong types, bad modes, reserved or duplicate
    // names and inconsistent times are errors naming the field. Never throws.
    static Result<LearningSchedule> from_json(const nlohmann::json& document,
                                              LearningConfig config);

private:
    struct Entry {
        uint8_t mode = FW_MODE_LEARN;
        TimePoint first_seen;
        TimePoint learning_since;
        TimePoint learning_until;
        std::optional<TimePoint> last_new_flow;
        uint64_t flows_learned = 0;
    };

    explicit LearningSchedule(LearningConfig config) : config_(std::move(config)) {}
    void start_learning(Entry& entry, milliseconds duration, TimePoint now) const;
    TimePoint quiet_until(const Entry& entry) const;
    bool learning_over(const Entry& entry, TimePoint now) const;
    Result<Entry*> find_for_command(const std::string& name);

    LearningConfig config_;
    std::optional<uint8_t> after_override_; // set_mode_all(alert|block|off)
    std::map<std::string, Entry> entries_;
};

} // namespace flowwall::learning
