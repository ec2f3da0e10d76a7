// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/publish_queue.h"

#include "src/cluster/cluster_keys.h"
#include "src/common/atomic_file.h"

#include <nlohmann/json.hpp>

namespace flowwall::cluster {

using nlohmann::json;

namespace {

constexpr int kQueueFormatVersion = 1;
// An entry is a key and a value of at most a few KiB: this is far more than a full queue.
constexpr size_t kMaxFileBytes = size_t{2} << 30;

bool owned_by(const std::string& key, const std::string& node) {
    return key.starts_with(node_flows_prefix(node)) ||
           key.starts_with(identities_prefix() + node + "/");
}

} // namespace

Result<PublishQueue> PublishQueue::load(std::filesystem::path path, std::string node,
                                        size_t max_entries) {
    PublishQueue queue(path, node, max_entries);
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        if (error)
            return Error::from_errno(error.value(), "cannot look for " + path.string());
        queue.first_start_ = true;
        return queue;
    }
    auto fail = [&](const std::string& why) {
        return Error{EINVAL, path.string() + ": " + why +
                                 "; it is set aside and this node republishes its model"};
    };
    auto text = common::read_file(path, kMaxFileBytes);
    if (!text)
        return text.error();
    json document = json::parse(text.value(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object())
        return fail("not a JSON object");
    for (const auto& [field, value] : document.items())
        if (field != "version" && field != "node" && field != "overflowed" && field != "entries")
            return fail("unknown field \"" + field + "\"");
    if (!document.contains("version") || document["version"] != kQueueFormatVersion)
        return fail("version is not " + std::to_string(kQueueFormatVersion));
    if (!document.contains("node") || document["node"] != node)
        return fail("written by another node (\"node\" is not \"" + node + "\")");
    if (document.contains("overflowed")) {
        if (!document["overflowed"].is_boolean())
            return fail("\"overflowed\" is not true or false");
        queue.overflowed_ = document["overflowed"].get<bool>();
    }
    const json& entries = document.contains("entries") ? document["entries"] : json::array();
    if (!entries.is_array())
        return fail("\"entries\" is not an array");
    if (entries.size() > max_entries)
        return fail(std::to_string(entries.size()) + " entries, more than the queue's " +
                    std::to_string(max_entries));
    for (size_t i = 0; i < entries.size(); ++i) {
        const json& entry = entries[i];
        std::string where = "entry " + std::to_string(i) + ": ";
        if (!entry.is_object() || entry.size() != 2 || !entry.contains("key") ||
            !entry.contains("value") || !entry["key"].is_string() || !entry["value"].is_string())
            return fail(where + "expected {\"key\": \"...\", \"value\": \"...\"}");
        auto key = entry["key"].get<std::string>();
        if (!owned_by(key, node) || !parse_key(key))
            return fail(where + "key \"" + key.substr(0, 120) + "\" is not one of this node's");
        queue.entries_.insert_or_assign(std::move(key), entry["value"].get<std::string>());
    }
    return queue;
}

Status PublishQueue::set_aside(const std::filesystem::path& path) {
    std::error_code error;
    std::filesystem::rename(path, path.string() + ".corrupt", error);
    if (error)
        return Error::from_errno(error.value(), "cannot move " + path.string() + " aside");
    return {};
}

bool PublishQueue::push(const std::string& key, std::string value) {
    auto found = entries_.find(key);
    if (found != entries_.end()) {
        if (found->second != value) {
            found->second = std::move(value);
            dirty_ = true;
        }
        return true;
    }
    if (entries_.size() >= max_entries_) {
        ++dropped_;
        if (!overflowed_)
            dirty_ = true;
        overflowed_ = true;
        return false;
    }
    entries_.emplace(key, std::move(value));
    dirty_ = true;
    return true;
}

std::vector<std::pair<std::string, std::string>> PublishQueue::peek(size_t limit) const {
    std::vector<std::pair<std::string, std::string>> batch;
    for (auto it = entries_.begin(); it != entries_.end() && batch.size() < limit; ++it)
        batch.emplace_back(it->first, it->second);
    return batch;
}

void PublishQueue::done(const std::vector<std::pair<std::string, std::string>>& published) {
    for (const auto& [key, value] : published) {
        auto found = entries_.find(key);
        if (found != entries_.end() && found->second == value) {
            entries_.erase(found);
            dirty_ = true;
        }
    }
}

void PublishQueue::clear_overflow() {
    if (overflowed_)
        dirty_ = true;
    overflowed_ = false;
}

Status PublishQueue::save() const {
    std::string text = "{\"version\":" + std::to_string(kQueueFormatVersion) +
                       ",\"node\":" + json(node_).dump() +
                       ",\"overflowed\":" + (overflowed_ ? "true" : "false") + ",\"entries\":[";
    bool first = true;
    for (const auto& [key, value] : entries_) {
        text += first ? "\n" : ",\n";
        first = false;
        text += json{{"key", key}, {"value", value}}.dump();
    }
    text += "]}\n";
    if (auto written = common::write_file_atomically(path_, text, 0600); !written)
        return written;
    dirty_ = false;
    return {};
}

} // namespace flowwall::cluster
