// SPDX-License-Identifier: Apache-2.0
#include "src/learning/learning_schedule.h"

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "src/common/duration.h"
#include "src/common/identity_name.h"
#include "src/policy/modes.h"

namespace flowwall::learning {
namespace {

using json = nlohmann::json;

constexpr int64_t kFormatVersion = 1;

Error invalid(std::string message) {
    return Error{EINVAL, std::move(message)};
}

std::string json_quoted(std::string_view text) {
    return json(std::string(text)).dump();
}

bool ends_learning(uint8_t mode) {
    return mode == FW_MODE_ALERT || mode == FW_MODE_BLOCK || mode == FW_MODE_OFF;
}

// Periods come from operators (up to 2^52 ms through parse_duration) and system_clock
// counts nanoseconds on libstdc++, so a plain sum can overflow: saturate instead, which
// reads as "learns for ever" and is what such a period means.
TimePoint add(TimePoint start, milliseconds duration) {
    auto headroom = start.time_since_epoch().count() >= 0
                        ? std::chrono::floor<milliseconds>(TimePoint::max() - start)
                        : std::chrono::floor<milliseconds>(Clock::duration::max());
    if (duration >= headroom)
        return TimePoint::max();
    return start + std::chrono::duration_cast<Clock::duration>(duration);
}

int64_t to_ms(TimePoint time) {
    return std::chrono::floor<milliseconds>(time.time_since_epoch()).count();
}

json optional_ms(const std::optional<TimePoint>& time) {
    return time ? json(to_ms(*time)) : json(nullptr);
}

// The strict reader's vocabulary: each returns an error naming `where` and `key`.
class Fields {
public:
    Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {}

    Error error(std::string_view key, const std::string& what) const {
        return invalid(where_ + json_quoted(key) + " " + what);
    }
    // For messages that stand on their own: "mode": "lurn" is not a mode: use ...
    Error explain(std::string_view key, const std::string& message) const {
        return invalid(where_ + json_quoted(key) + ": " + message);
    }

    Result<const json*> required(std::string_view key) const {
        auto found = object_.find(key);
        if (found == object_.end())
            return invalid(where_ + json_quoted(key) + " is missing");
        return &*found;
    }

    Result<std::string> string(std::string_view key) const {
        auto value = required(key);
        if (!value)
            return value.error();
        if (!value.value()->is_string())
            return error(key, "is not a string");
        return value.value()->get<std::string>();
    }

    Result<uint64_t> count(std::string_view key) const {
        auto value = required(key);
        if (!value)
            return value.error();
        const json& number = *value.value();
        if (number.is_number_unsigned())
            return number.get<uint64_t>();
        if (number.is_number_integer() && number.get<int64_t>() >= 0)
            return static_cast<uint64_t>(number.get<int64_t>());
        return error(key, "is not a non-negative integer");
    }

    // Milliseconds since the epoch that system_clock can represent; null allowed if asked.
    Result<std::optional<TimePoint>> time(std::string_view key, bool nullable) const {
        auto value = required(key);
        if (!value)
            return value.error();
        const json& number = *value.value();
        if (nullable && number.is_null())
            return std::optional<TimePoint>();
        const auto min_ms = to_ms(TimePoint::min()) + 1;
        const auto max_ms = to_ms(TimePoint::max());
        bool in_range = number.is_number_integer() &&
                        !(number.is_number_unsigned() &&
                          number.get<uint64_t>() > static_cast<uint64_t>(max_ms)) &&
                        number.get<int64_t>() >= min_ms && number.get<int64_t>() <= max_ms;
        if (!in_range)
            return error(key, std::string("is not ") + (nullable ? "null or " : "") +
                                  "an integer count of milliseconds since the epoch in " +
                                  std::to_string(min_ms) + ".." + std::to_string(max_ms));
        return std::optional<TimePoint>(TimePoint(
            std::chrono::duration_cast<Clock::duration>(milliseconds(number.get<int64_t>()))));
    }

    Status only(std::initializer_list<std::string_view> keys) const {
        for (const auto& [key, value] : object_.items()) {
            if (std::find(keys.begin(), keys.end(), key) == keys.end())
                return invalid(where_ + "unknown key " + json_quoted(key));
        }
        return {};
    }

private:
    const json& object_;
    std::string where_; // "" or "identities[3] (\"web\"): "
};

} // namespace

bool takes_part_in_learning(std::string_view name) {
    return name != common::kUnknownIdentity && name != common::kHostIdentity &&
           name != common::kWorldIdentity && !name.starts_with("cidr:");
}

Status validate(const LearningConfig& config) {
    if (config.period < milliseconds(0))
        return invalid("learning period " + common::format_duration(config.period) +
                       " is negative");
    if (config.quiet < milliseconds(0))
        return invalid("learning quiet period " + common::format_duration(config.quiet) +
                       " is negative");
    if (!ends_learning(config.after))
        return invalid(std::string("after-learning action \"") + policy::mode_name(config.after) +
                       "\" is not one of alert, block, off");
    for (const auto& [name, period] : config.period_overrides) {
        if (!takes_part_in_learning(name))
            return invalid("learning period override for " + json_quoted(name) +
                           ": a reserved identity or CIDR entity never learns");
        if (period < milliseconds(0))
            return invalid("learning period override for " + json_quoted(name) + ": " +
                           common::format_duration(period) + " is negative");
    }
    return {};
}

Result<LearningSchedule> LearningSchedule::create(LearningConfig config) {
    if (auto valid = validate(config); !valid)
        return valid.error();
    return LearningSchedule(std::move(config));
}

milliseconds LearningSchedule::period_for(const std::string& name) const {
    auto found = config_.period_overrides.find(name);
    return found == config_.period_overrides.end() ? config_.period : found->second;
}

uint8_t LearningSchedule::after_learning() const {
    return after_override_.value_or(config_.after);
}

void LearningSchedule::start_learning(Entry& entry, milliseconds duration, TimePoint now) const {
    entry.mode = FW_MODE_LEARN;
    entry.learning_since = now;
    entry.learning_until = add(now, duration);
}

TimePoint LearningSchedule::quiet_until(const Entry& entry) const {
    // A flow seen before the current phase began (relearn) does not shorten its quiet time.
    auto quiet_start =
        std::max(entry.learning_since, entry.last_new_flow.value_or(TimePoint::min()));
    return add(quiet_start, config_.quiet);
}

bool LearningSchedule::learning_over(const Entry& entry, TimePoint now) const {
    if (now < entry.learning_until)
        return false;
    return config_.quiet == milliseconds(0) || now >= quiet_until(entry);
}

bool LearningSchedule::observe(const std::string& name, TimePoint now) {
    if (!takes_part_in_learning(name) || entries_.contains(name))
        return false;
    Entry entry;
    entry.first_seen = now;
    start_learning(entry, period_for(name), now);
    entries_.emplace(name, entry);
    return true;
}

bool LearningSchedule::observe_since(const std::string& name, TimePoint first_seen) {
    return observe(name, first_seen);
}

bool LearningSchedule::adopt_first_seen(const std::string& name, TimePoint first_seen) {
    auto found = entries_.find(name);
    if (found == entries_.end() || first_seen >= found->second.first_seen)
        return false;
    Entry& entry = found->second;
    if (entry.mode == FW_MODE_LEARN && entry.learning_since == entry.first_seen) {
        auto length = entry.learning_until - entry.learning_since;
        entry.learning_since = first_seen;
        entry.learning_until = first_seen + length;
    }
    entry.first_seen = first_seen;
    return true;
}

std::optional<TimePoint> LearningSchedule::first_seen(const std::string& name) const {
    auto found = entries_.find(name);
    if (found == entries_.end())
        return std::nullopt;
    return found->second.first_seen;
}

void LearningSchedule::new_flow(const std::string& name, TimePoint now) {
    observe(name, now);
    auto found = entries_.find(name);
    if (found == entries_.end())
        return; // never learns
    found->second.last_new_flow = now;
    ++found->second.flows_learned;
}

std::vector<Transition> LearningSchedule::tick(TimePoint now) {
    std::vector<Transition> transitions;
    const uint8_t after = after_learning();
    for (auto& [name, entry] : entries_) {
        if (entry.mode == FW_MODE_LEARN && learning_over(entry, now)) {
            entry.mode = after;
            transitions.push_back({name, after});
        }
    }
    return transitions;
}

std::optional<TimePoint> LearningSchedule::next_deadline() const {
    std::optional<TimePoint> earliest;
    for (const auto& [name, entry] : entries_) {
        if (entry.mode != FW_MODE_LEARN)
            continue;
        auto deadline = entry.learning_until;
        if (config_.quiet > milliseconds(0))
            deadline = std::max(deadline, quiet_until(entry));
        if (!earliest || deadline < *earliest)
            earliest = deadline;
    }
    return earliest;
}

Result<LearningSchedule::Entry*> LearningSchedule::find_for_command(const std::string& name) {
    if (!takes_part_in_learning(name))
        return invalid("identity " + json_quoted(name) +
                       " is reserved or a CIDR entity: it has no mode and never learns");
    auto found = entries_.find(name);
    if (found == entries_.end())
        return Error{ENOENT, "identity " + json_quoted(name) +
                                 " is not known: it has not been seen yet (flowwall identities "
                                 "lists the known ones)"};
    return &found->second;
}

Status LearningSchedule::set_mode(const std::string& name, uint8_t mode, TimePoint now) {
    if (mode != FW_MODE_LEARN && !ends_learning(mode))
        return invalid(std::string("mode \"") + policy::mode_name(mode) +
                       "\" is not one of learn, alert, block, off");
    if (mode == FW_MODE_LEARN)
        return relearn(name, std::nullopt, now);
    auto entry = find_for_command(name);
    if (!entry)
        return entry.error();
    entry.value()->mode = mode;
    return {};
}

Status LearningSchedule::set_mode_all(uint8_t mode, TimePoint now) {
    if (mode == FW_MODE_LEARN)
        return relearn_all(std::nullopt, now);
    if (!ends_learning(mode))
        return invalid(std::string("mode \"") + policy::mode_name(mode) +
                       "\" is not one of learn, alert, block, off");
    after_override_ = mode;
    for (auto& [name, entry] : entries_)
        entry.mode = mode;
    return {};
}

Status LearningSchedule::relearn(const std::string& name, std::optional<milliseconds> duration,
                                 TimePoint now) {
    if (duration && *duration < milliseconds(0))
        return invalid("learning duration " + common::format_duration(*duration) + " is negative");
    auto entry = find_for_command(name);
    if (!entry)
        return entry.error();
    start_learning(*entry.value(), duration.value_or(period_for(name)), now);
    return {};
}

Status LearningSchedule::relearn_all(std::optional<milliseconds> duration, TimePoint now) {
    if (duration && *duration < milliseconds(0))
        return invalid("learning duration " + common::format_duration(*duration) + " is negative");
    for (auto& [name, entry] : entries_)
        start_learning(entry, duration.value_or(period_for(name)), now);
    return {};
}

uint8_t LearningSchedule::mode_of(const std::string& name) const {
    auto found = entries_.find(name);
    return found == entries_.end() ? uint8_t{FW_MODE_UNSET} : found->second.mode;
}

std::optional<milliseconds> LearningSchedule::learning_remaining(const std::string& name,
                                                                 TimePoint now) const {
    auto found = entries_.find(name);
    if (found == entries_.end() || found->second.mode != FW_MODE_LEARN)
        return std::nullopt;
    if (now >= found->second.learning_until)
        return milliseconds(0);
    // Rounded up: 0 must mean the period is over, never "less than a millisecond left".
    return std::chrono::ceil<milliseconds>(found->second.learning_until - now);
}

std::optional<milliseconds> LearningSchedule::since_last_new_flow(const std::string& name,
                                                                  TimePoint now) const {
    auto found = entries_.find(name);
    if (found == entries_.end() || !found->second.last_new_flow)
        return std::nullopt;
    auto last = *found->second.last_new_flow;
    return now <= last ? milliseconds(0) : std::chrono::floor<milliseconds>(now - last);
}

uint64_t LearningSchedule::flows_learned(const std::string& name) const {
    auto found = entries_.find(name);
    return found == entries_.end() ? 0 : found->second.flows_learned;
}

std::vector<IdentityState> LearningSchedule::states(TimePoint now) const {
    std::vector<IdentityState> states;
    states.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) {
        IdentityState state;
        state.name = name;
        state.mode = entry.mode;
        state.first_seen = entry.first_seen;
        state.last_new_flow = entry.last_new_flow;
        state.flows_learned = entry.flows_learned;
        if (entry.mode == FW_MODE_LEARN) {
            state.learning_since = entry.learning_since;
            state.learning_until = entry.learning_until;
            state.learning_remaining = learning_remaining(name, now);
            state.quiet_holding = now >= entry.learning_until && !learning_over(entry, now);
        }
        states.push_back(std::move(state));
    }
    return states;
}

json LearningSchedule::to_json() const {
    json identities = json::array();
    for (const auto& [name, entry] : entries_) {
        identities.push_back(json{{"name", name},
                                  {"mode", policy::mode_name(entry.mode)},
                                  {"first_seen_ms", to_ms(entry.first_seen)},
                                  {"learning_since_ms", to_ms(entry.learning_since)},
                                  {"learning_until_ms", to_ms(entry.learning_until)},
                                  {"last_new_flow_ms", optional_ms(entry.last_new_flow)},
                                  {"flows_learned", entry.flows_learned}});
    }
    json document = json::object();
    document["version"] = kFormatVersion;
    document["after_learning"] =
        after_override_ ? json(policy::mode_name(*after_override_)) : json(nullptr);
    document["identities"] = std::move(identities);
    return document;
}

Result<LearningSchedule> LearningSchedule::from_json(const json& document, LearningConfig config) {
    auto created = create(std::move(config));
    if (!created)
        return created.error();
    LearningSchedule schedule = std::move(created).value();

    if (!document.is_object())
        return invalid("the learning state is not a JSON object");
    Fields top(document, "");
    if (auto known = top.only({"version", "after_learning", "identities"}); !known)
        return known.error();
    auto version = top.required("version");
    if (!version)
        return version.error();
    if (!version.value()->is_number_integer() || version.value()->get<int64_t>() != kFormatVersion)
        return top.error("version", "is not " + std::to_string(kFormatVersion) +
                                        " (written by another flowwalld release?)");
    auto after = top.required("after_learning");
    if (!after)
        return after.error();
    if (!after.value()->is_null()) {
        auto mode = after.value()->is_string()
                        ? policy::parse_mode(after.value()->get<std::string>())
                        : Result<uint8_t>(invalid("is not a string"));
        if (!mode || !ends_learning(mode.value()))
            return top.error("after_learning", "is not null, \"alert\", \"block\" or \"off\"");
        schedule.after_override_ = mode.value();
    }
    auto identities = top.required("identities");
    if (!identities)
        return identities.error();
    if (!identities.value()->is_array())
        return top.error("identities", "is not an array");

    for (size_t index = 0; index < identities.value()->size(); ++index) {
        const json& item = (*identities.value())[index];
        std::string where = "identities[" + std::to_string(index) + "]";
        if (!item.is_object())
            return invalid(where + " is not an object");
        Fields unnamed(item, where + ": ");
        auto name = unnamed.string("name");
        if (!name)
            return name.error();
        if (auto valid = common::validate_identity_name(name.value()); !valid)
            return unnamed.explain("name", valid.error().message);
        Fields fields(item, where + " (" + json_quoted(name.value()) + "): ");
        if (auto known = fields.only({"name", "mode", "first_seen_ms", "learning_since_ms",
                                      "learning_until_ms", "last_new_flow_ms", "flows_learned"});
            !known)
            return known.error();
        if (!takes_part_in_learning(name.value()))
            return fields.error("name",
                                "is a reserved identity or CIDR entity, which never learns");
        if (schedule.entries_.contains(name.value()))
            return fields.error("name", "appears twice");

        Entry entry;
        auto mode_text = fields.string("mode");
        if (!mode_text)
            return mode_text.error();
        auto mode = policy::parse_mode(mode_text.value());
        if (!mode)
            return fields.explain("mode", mode.error().message);
        entry.mode = mode.value();

        auto first_seen = fields.time("first_seen_ms", false);
        auto since = fields.time("learning_since_ms", false);
        auto until = fields.time("learning_until_ms", false);
        auto last_flow = fields.time("last_new_flow_ms", true);
        for (const auto* time : {&first_seen, &since, &until, &last_flow}) {
            if (!*time)
                return time->error();
        }
        entry.first_seen = *first_seen.value();
        entry.learning_since = *since.value();
        entry.learning_until = *until.value();
        entry.last_new_flow = last_flow.value();
        if (entry.learning_until < entry.learning_since)
            return fields.error("learning_until_ms", "is before \"learning_since_ms\"");

        auto flows = fields.count("flows_learned");
        if (!flows)
            return flows.error();
        entry.flows_learned = flows.value();
        schedule.entries_.emplace(name.value(), entry);
    }
    return schedule;
}

} // namespace flowwall::learning
