// SPDX-License-Identifier: Apache-2.0
#include "src/policy/model.h"

#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

namespace flowwall::policy {
namespace {

// The datapath reports port 0 for every protocol without ports; forcing it here keeps a
// flow that came in any other way from making the model unreadable.
FlowKey normalized(const FlowKey& flow) {
    if (flow.port == 0 || protocol_has_ports(flow.protocol))
        return flow;
    FlowKey key = flow;
    key.port = 0;
    return key;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
    return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                        : a + b;
}

// Keeps the `bound` first names in order (see FlowRecord::workloads). True on a change.
bool add_label(std::set<std::string>& labels, const std::string& raw, size_t bound) {
    if (raw.empty() || labels.count(raw) != 0)
        return false; // the common case: a name we already hold
    std::string label = sanitize_label(raw);
    if (labels.size() >= bound && !(label < *labels.rbegin()))
        return false;
    if (!labels.insert(std::move(label)).second)
        return false;
    if (labels.size() > bound)
        labels.erase(std::prev(labels.end()));
    return true;
}

bool add_labels(std::set<std::string>& labels, const std::set<std::string>& more, size_t bound) {
    bool changed = false;
    for (const auto& label : more)
        changed |= add_label(labels, label, bound);
    return changed;
}

} // namespace

bool is_origin(std::string_view origin) {
    return origin == kOriginLearned || origin == kOriginManual || origin == kOriginImported;
}

FlowRecord& Model::insert(FlowRecord record) {
    ++touching_[record.key.src];
    if (record.key.dst != record.key.src)
        ++touching_[record.key.dst];
    auto key = record.key;
    return flows_.emplace(std::move(key), std::move(record)).first->second;
}

bool Model::record(const FlowKey& flow, TimePoint when, const std::string& node,
                   const std::string& workload, uint64_t count) {
    auto seen = to_model_time(when);
    auto found = flows_.find(flow);
    if (found == flows_.end() && flow.port != 0 && !protocol_has_ports(flow.protocol))
        found = flows_.find(normalized(flow));
    bool fresh = found == flows_.end();
    FlowRecord* record = nullptr;
    if (fresh) {
        FlowKey key = normalized(flow);
        if (auto valid = validate_flow_key(key); !valid) {
            spdlog::warn("model: not recording the flow {}: {}", one_line(flow_string(key)),
                         valid.error().message);
            return false;
        }
        FlowRecord added;
        added.key = std::move(key);
        added.first_seen = seen;
        added.last_seen = seen;
        added.origin = std::string(kOriginLearned);
        record = &insert(std::move(added));
    } else {
        record = &found->second;
        record->first_seen = std::min(record->first_seen, seen);
        record->last_seen = std::max(record->last_seen, seen);
    }
    record->count = saturating_add(record->count, count);
    add_label(record->nodes, node, std::numeric_limits<size_t>::max());
    add_label(record->workloads, workload, kMaxWorkloadsPerFlow);
    ++changes_;
    return fresh;
}

bool Model::allow(const FlowKey& flow, TimePoint now, std::string origin) {
    FlowKey key = normalized(flow);
    if (flows_.count(key) != 0)
        return false;
    if (!is_origin(origin)) {
        spdlog::warn("model: not allowing {}: origin {} is not learned, manual or imported",
                     one_line(flow_string(key)), in_quotes(origin));
        return false;
    }
    if (auto valid = validate_flow_key(key); !valid) {
        spdlog::warn("model: not allowing {}: {}", one_line(flow_string(key)),
                     valid.error().message);
        return false;
    }
    FlowRecord added;
    added.key = std::move(key);
    added.first_seen = to_model_time(now);
    added.last_seen = added.first_seen;
    added.origin = std::move(origin);
    insert(std::move(added));
    ++changes_;
    return true;
}

bool Model::remove(const FlowKey& flow) {
    auto found = flows_.find(normalized(flow));
    if (found == flows_.end())
        return false;
    auto forget = [this](const std::string& identity) {
        auto count = touching_.find(identity);
        if (count != touching_.end() && --count->second == 0)
            touching_.erase(count);
    };
    forget(found->first.src);
    if (found->first.dst != found->first.src)
        forget(found->first.dst);
    flows_.erase(found);
    ++changes_;
    return true;
}

const FlowRecord* Model::find(const FlowKey& flow) const {
    auto found = flows_.find(normalized(flow));
    return found == flows_.end() ? nullptr : &found->second;
}

std::vector<FlowRecord> Model::flows() const {
    std::vector<FlowRecord> records;
    records.reserve(flows_.size());
    for (const auto& [key, record] : flows_)
        records.push_back(record);
    return records;
}

size_t Model::flows_of(const std::string& identity) const {
    auto found = touching_.find(identity);
    return found == touching_.end() ? 0 : found->second;
}

std::vector<FlowRecord> Model::flows_touching(const std::string& identity) const {
    std::vector<FlowRecord> records;
    size_t expected = flows_of(identity);
    if (expected == 0)
        return records;
    records.reserve(expected);
    for (const auto& [key, record] : flows_) {
        if (key.src == identity || key.dst == identity)
            records.push_back(record);
    }
    return records;
}

size_t Model::merge(const Model& other, std::string_view origin_for_new) {
    if (&other == this)
        return 0;
    size_t added = 0;
    for (const auto& [key, theirs] : other.flows_)
        added += merge_record(theirs, origin_for_new) ? 1 : 0;
    return added;
}

bool Model::merge_record(const FlowRecord& theirs, std::string_view origin_for_new) {
    bool keep_theirs = origin_for_new.empty() || !is_origin(origin_for_new);
    auto found = flows_.find(theirs.key);
    if (found == flows_.end()) {
        FlowRecord copy = theirs;
        if (!keep_theirs)
            copy.origin = std::string(origin_for_new);
        insert(std::move(copy));
        ++changes_;
        return true;
    }
    FlowRecord& ours = found->second;
    bool changed = theirs.first_seen < ours.first_seen || theirs.last_seen > ours.last_seen ||
                   theirs.count > ours.count;
    ours.first_seen = std::min(ours.first_seen, theirs.first_seen);
    ours.last_seen = std::max(ours.last_seen, theirs.last_seen);
    ours.count = std::max(ours.count, theirs.count);
    changed |= add_labels(ours.nodes, theirs.nodes, std::numeric_limits<size_t>::max());
    changed |= add_labels(ours.workloads, theirs.workloads, kMaxWorkloadsPerFlow);
    if (changed)
        ++changes_;
    return false;
}

} // namespace flowwall::policy
