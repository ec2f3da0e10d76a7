// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/deny_lists.h"

#include "src/common/json_time.h"
#include "src/denylist/feed_download.h"
#include "src/denylist/feed_parser.h"
#include "src/denylist/refresh_check.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <set>
#include <thread>

namespace flowwall::denylist {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

struct DenyLists::List {
    StoredList stored;               // the version in force, as persisted
    std::vector<IpPrefix> in_kernel; // what the last successful apply() put there
    bool applied = false;            // whether apply() ever succeeded for this id
    SteadyTime next_refresh{};       // feeds: when run() downloads it next
    std::chrono::system_clock::time_point checked_at{};
    std::string last_error;   // why the last refresh was not applied; empty when it was
    std::string kernel_error; // why the last apply() failed; empty when it succeeded
    uint64_t refresh_failures = 0;
    // The last version parsed (applied or not).
    size_t bad_lines = 0;
    std::string bad_lines_summary;
    size_t normalised = 0;
    FoldCounts folded;
    std::vector<std::string> covers_protected; // "10.0.0.0/8 covers 10.1.0.2/32"
};

DenyLists::DenyLists(DenyListsOptions options, KernelLists& kernel)
    : options_(std::move(options)), kernel_(kernel), store_(options_.state_dir) {}

DenyLists::~DenyLists() = default;

Result<std::unique_ptr<DenyLists>> DenyLists::open(DenyListsOptions options, KernelLists& kernel) {
    std::unique_ptr<DenyLists> lists(new DenyLists(std::move(options), kernel));
    auto loaded = lists->store_.load();
    if (!loaded)
        return loaded.error();
    for (const auto& problem : loaded.value().problems)
        spdlog::error("deny lists: {}", problem);
    std::set<uint32_t> ids;
    std::lock_guard lock(lists->mutex_);
    for (auto& stored : loaded.value().lists) {
        if (stored.id == 0 || !ids.insert(stored.id).second) {
            spdlog::error("deny lists: list {} has no id of its own in {}; skipped",
                          stored.spec.name, lists->store_.index_path().string());
            continue;
        }
        auto list = std::make_unique<List>();
        list->stored = std::move(stored);
        auto prefixes = list->stored.prefixes;
        auto& placed =
            *lists->lists_.emplace(list->stored.spec.name, std::move(list)).first->second;
        if (auto applied = lists->put_in_force(placed, std::move(prefixes), "restored"); !applied)
            spdlog::error("deny lists: {}", applied.error().message);
    }
    return lists;
}

DenyLists::List* DenyLists::find_locked(const std::string& name) {
    auto it = lists_.find(name);
    return it == lists_.end() ? nullptr : it->second.get();
}

const DenyLists::List* DenyLists::find_locked(const std::string& name) const {
    auto it = lists_.find(name);
    return it == lists_.end() ? nullptr : it->second.get();
}

Status DenyLists::save_index_locked() const {
    std::vector<const StoredList*> stored;
    for (const auto& [name, list] : lists_)
        stored.push_back(&list->stored);
    return store_.save_index(stored);
}

Status DenyLists::put_in_force(List& list, std::vector<IpPrefix> prefixes, const char* why) {
    const ListSpec& spec = list.stored.spec;
    PrefixDiff change = diff(list.in_kernel, prefixes);
    if (!list.applied || !change.empty()) {
        if (auto applied = kernel_.apply(list.stored.id, spec, prefixes, change); !applied) {
            list.kernel_error = applied.error().to_string();
            return Error{applied.error().errnum, "list " + spec.name +
                                                     " could not be put in "
                                                     "force (the previous version stays): " +
                                                     list.kernel_error};
        }
        list.in_kernel = prefixes;
        list.applied = true;
    }
    list.kernel_error.clear();
    bool changed = list.stored.prefixes != prefixes;
    list.stored.prefixes = std::move(prefixes);
    if (changed)
        if (auto saved = store_.save_prefixes(spec.name, list.stored.prefixes); !saved)
            spdlog::error("deny lists: {} (list {} is in force, but a restart would bring "
                          "back the previous version)",
                          saved.error().to_string(), spec.name);

    // Workload, node and allow addresses win in the datapath; say so when a list covers one.
    std::vector<std::string> covering;
    if (spec.role == ListRole::deny && options_.protected_prefixes) {
        auto guarded = options_.protected_prefixes();
        std::sort(guarded.begin(), guarded.end(), prefix_less);
        for (const auto& overlap : overlaps(list.stored.prefixes, guarded))
            covering.push_back(overlap.listed.to_string() + " covers " +
                               overlap.protected_prefix.to_string());
    }
    if (covering != list.covers_protected && !covering.empty())
        spdlog::warn("deny list {} covers addresses that always win (workloads, this node, "
                     "allow prefixes), which stay reachable: {}{}",
                     spec.name, fmt::format("{}", fmt::join(covering, ", ")),
                     covering.size() >= 20 ? ", ..." : "");
    list.covers_protected = std::move(covering);
    spdlog::info("deny list {} {}: {} prefixes in force (+{} -{})", spec.name, why,
                 list.stored.prefixes.size(), change.added.size(), change.removed.size());
    return {};
}

void DenyLists::refuse_locked(List& list, const std::string& reason) {
    ++list.refresh_failures;
    if (reason != list.last_error) // logged once per reason, not on every retry
        spdlog::warn("deny list {}: refresh not applied, the last good version ({} prefixes) "
                     "stays: {}",
                     list.stored.spec.name, list.stored.prefixes.size(), reason);
    list.last_error = reason;
}

namespace {

// "prefixes": ["198.51.100.0/24", ...] or "text": a file's content in the feed format.
Result<std::vector<IpPrefix>> prefixes_of(const std::vector<std::string>& texts) {
    std::vector<IpPrefix> prefixes;
    for (const auto& text : texts) {
        auto prefix = parse_listed_prefix(text);
        if (!prefix)
            return prefix.error();
        prefixes.push_back(prefix.value());
    }
    fold(prefixes);
    return prefixes;
}

Result<std::vector<std::string>> strings_of(const json& body, const char* key) {
    std::vector<std::string> texts;
    auto it = body.find(key);
    if (it == body.end())
        return texts;
    if (!it->is_array())
        return Error{EINVAL, std::string("\"") + key + "\" must be an array of prefixes"};
    for (const auto& item : *it) {
        if (!item.is_string())
            return Error{EINVAL, std::string("\"") + key + "\" must hold prefixes as strings"};
        texts.push_back(item.get<std::string>());
    }
    return texts;
}

} // namespace

Result<json> DenyLists::create(const json& body) {
    auto spec = list_spec_from_json(body);
    if (!spec)
        return spec.error();
    auto texts = strings_of(body, "prefixes");
    if (!texts)
        return texts.error();
    auto prefixes = prefixes_of(texts.value());
    if (!prefixes)
        return prefixes.error();
    if (auto it = body.find("text"); it != body.end()) {
        if (!it->is_string())
            return Error{EINVAL, "\"text\" must be a string (a file of prefixes)"};
        auto parsed = parse_feed(it->get<std::string>());
        if (parsed.bad_lines > 0)
            return Error{EINVAL, parsed.bad_lines_summary() + "; fix the file and try again"};
        prefixes.value().insert(prefixes.value().end(), parsed.prefixes.begin(),
                                parsed.prefixes.end());
        fold(prefixes.value());
    }
    if (spec.value().is_feed() && !prefixes.value().empty())
        return Error{EINVAL, "a feed list takes its prefixes from its feed, not from the request"};

    std::lock_guard lock(mutex_);
    if (find_locked(spec.value().name))
        return Error{EEXIST, "list " + spec.value().name +
                                 " exists; delete it first or pick "
                                 "another name"};
    if (lists_.size() >= options_.max_lists)
        return Error{ENOSPC, "this node already has " + std::to_string(lists_.size()) +
                                 " lists, the most it takes"};
    std::set<uint32_t> used;
    for (const auto& [name, list] : lists_)
        used.insert(list->stored.id);
    uint32_t id = 1;
    while (used.count(id))
        ++id;
    auto list = std::make_unique<List>();
    list->stored.spec = spec.value();
    list->stored.id = id;
    list->stored.updated_at = options_.now();
    if (auto applied = put_in_force(*list, std::move(prefixes.value()), "created"); !applied)
        return applied.error();
    auto& placed = *lists_.emplace(spec.value().name, std::move(list)).first->second;
    if (!placed.stored.prefixes.empty() || !placed.stored.spec.is_feed())
        if (auto saved = store_.save_prefixes(placed.stored.spec.name, placed.stored.prefixes);
            !saved)
            spdlog::error("deny lists: {}", saved.error().to_string());
    if (auto saved = save_index_locked(); !saved)
        spdlog::error("deny lists: {} (the list is in force until the daemon stops)",
                      saved.error().to_string());
    return view_locked(placed);
}

Result<json> DenyLists::erase(const std::string& name) {
    std::lock_guard lock(mutex_);
    List* list = find_locked(name);
    if (!list)
        return Error{ENOENT, "no list named " + name + " (flowwall deny list shows them)"};
    if (list->applied)
        if (auto removed = kernel_.remove(list->stored.id, list->stored.spec, list->in_kernel);
            !removed)
            return Error{removed.error().errnum,
                         "list " + name + " could not be taken out of the kernel, so it stays: " +
                             removed.error().to_string()};
    size_t count = list->stored.prefixes.size();
    lists_.erase(name);
    store_.forget(name);
    if (auto saved = save_index_locked(); !saved)
        spdlog::error("deny lists: {}", saved.error().to_string());
    spdlog::info("deny list {} deleted ({} prefixes no longer in force)", name, count);
    return json{{"deleted", name}, {"prefixes", count}};
}

Result<json> DenyLists::edit(const std::string& name, const std::vector<std::string>& texts,
                             bool adding) {
    auto edits = prefixes_of(texts);
    if (!edits)
        return edits.error();
    if (edits.value().empty())
        return Error{EINVAL, "no prefixes given"};
    std::lock_guard lock(mutex_);
    List* list = find_locked(name);
    if (!list)
        return Error{ENOENT, "no list named " + name + " (flowwall deny list shows them)"};
    if (list->stored.spec.is_feed())
        return Error{EINVAL, "list " + name +
                                 " is a feed: edit the feed, or create a static "
                                 "list for prefixes of your own"};
    std::vector<IpPrefix> next;
    size_t changed = 0;
    if (adding) {
        next = list->stored.prefixes;
        next.insert(next.end(), edits.value().begin(), edits.value().end());
        fold(next);
        changed = diff(list->stored.prefixes, next).size();
    } else {
        for (const auto& prefix : list->stored.prefixes)
            if (!std::binary_search(edits.value().begin(), edits.value().end(), prefix,
                                    prefix_less))
                next.push_back(prefix);
        changed = list->stored.prefixes.size() - next.size();
        if (changed == 0)
            return Error{ENOENT, "list " + name +
                                     " holds none of these prefixes as they are "
                                     "written (flowwall deny show " +
                                     name + ")"};
    }
    list->stored.updated_at = options_.now();
    if (auto applied = put_in_force(*list, std::move(next), adding ? "added to" : "removed from");
        !applied)
        return applied.error();
    if (auto saved = save_index_locked(); !saved)
        spdlog::error("deny lists: {}", saved.error().to_string());
    json view = view_locked(*list);
    view[adding ? "added" : "removed"] = changed;
    return view;
}

Result<json> DenyLists::add(const std::string& name, const std::vector<std::string>& prefixes) {
    return edit(name, prefixes, true);
}

Result<json> DenyLists::remove(const std::string& name, const std::vector<std::string>& prefixes) {
    return edit(name, prefixes, false);
}

Result<json> DenyLists::refresh(const std::string& name, std::stop_token stop) {
    std::lock_guard serial(refresh_mutex_);
    DownloadRequest request;
    FeedLimits limits;
    FeedFormat format;
    {
        std::lock_guard lock(mutex_);
        List* list = find_locked(name);
        if (!list)
            return Error{ENOENT, "no list named " + name + " (flowwall deny list shows them)"};
        if (!list->stored.spec.is_feed())
            return Error{EINVAL, "list " + name + " is static: there is nothing to refresh"};
        limits = list->stored.spec.limits;
        format = list->stored.spec.format;
        request = {list->stored.spec.url, list->stored.etag, list->stored.last_modified,
                   limits.timeout, limits.max_bytes};
    }
    auto download = download_feed(request, stop);
    std::optional<ParsedFeed> parsed;
    if (download && !download.value().not_modified)
        parsed = parse_feed(download.value().body, ParseOptions{.format = format});

    std::lock_guard lock(mutex_);
    List* list = find_locked(name);
    if (!list) // deleted while downloading
        return Error{ENOENT, "list " + name + " was deleted during its refresh"};
    list->checked_at = options_.now();
    list->next_refresh = std::chrono::steady_clock::now() + limits.refresh_interval;
    json answer{{"name", name}, {"applied", false}};
    if (!download) {
        refuse_locked(*list, download.error().message);
        answer["reason"] = list->last_error;
        return answer;
    }
    if (download.value().not_modified) {
        list->last_error.clear();
        answer["unchanged"] = true;
        return answer;
    }
    list->bad_lines = parsed->bad_lines;
    list->bad_lines_summary = parsed->bad_lines_summary();
    list->normalised = parsed->normalised;
    list->folded = parsed->folded;
    if (auto refusal = refresh_refusal(*parsed, list->stored.prefixes.size(), limits)) {
        refuse_locked(*list, *refusal);
        answer["reason"] = *refusal;
        return answer;
    }
    PrefixDiff change = diff(list->stored.prefixes, parsed->prefixes);
    if (auto applied = put_in_force(*list, std::move(parsed->prefixes), "refreshed"); !applied) {
        refuse_locked(*list, applied.error().message);
        answer["reason"] = list->last_error;
        return answer;
    }
    list->last_error.clear();
    list->stored.etag = download.value().etag;
    list->stored.last_modified = download.value().last_modified;
    list->stored.updated_at = list->checked_at;
    if (auto saved = save_index_locked(); !saved)
        spdlog::error("deny lists: {}", saved.error().to_string());
    answer["applied"] = true;
    answer["added"] = change.added.size();
    answer["removed"] = change.removed.size();
    answer["prefixes"] = list->stored.prefixes.size();
    return answer;
}

void DenyLists::run(std::stop_token stop) {
    std::mutex sleep_mutex;
    std::condition_variable_any sleeper;
    while (!stop.stop_requested()) {
        std::vector<std::string> due;
        {
            std::lock_guard lock(mutex_);
            auto now = std::chrono::steady_clock::now();
            for (const auto& [name, list] : lists_)
                if (list->stored.spec.is_feed() && list->next_refresh <= now)
                    due.push_back(name);
        }
        for (const auto& name : due) {
            if (stop.stop_requested())
                break;
            if (auto answer = refresh(name, stop); !answer && answer.error().errnum != ENOENT)
                spdlog::warn("deny list {}: {}", name, answer.error().message);
        }
        std::unique_lock lock(sleep_mutex);
        sleeper.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
}

json DenyLists::view_locked(const List& list) const {
    const ListSpec& spec = list.stored.spec;
    json view = to_json(spec);
    view["id"] = list.stored.id;
    view["prefixes"] = list.stored.prefixes.size();
    DropCounters dropped = kernel_.counters(list.stored.id);
    view["dropped"] = {{"packets", dropped.packets}, {"bytes", dropped.bytes}};
    view["updated_at"] = common::iso_time(list.stored.updated_at);
    view["in_force"] = list.applied && list.kernel_error.empty();
    view["kernel_error"] = list.kernel_error.empty() ? json(nullptr) : json(list.kernel_error);
    view["covers_protected"] = list.covers_protected;
    if (spec.is_feed()) {
        view["checked_at"] = common::iso_time(list.checked_at);
        view["last_error"] = list.last_error.empty() ? json(nullptr) : json(list.last_error);
        view["refresh_failures"] = list.refresh_failures;
        view["etag"] = list.stored.etag;
        view["last_parse"] = {{"bad_lines", list.bad_lines},
                              {"bad_lines_summary", list.bad_lines_summary},
                              {"normalised", list.normalised},
                              {"duplicates", list.folded.duplicates},
                              {"covered", list.folded.covered}};
    }
    return view;
}

json DenyLists::lists_view() const {
    std::lock_guard lock(mutex_);
    json lists = json::array();
    for (const auto& [name, list] : lists_)
        lists.push_back(view_locked(*list));
    return lists;
}

Result<json> DenyLists::list_view(const std::string& name, size_t max_prefixes) const {
    std::lock_guard lock(mutex_);
    const List* list = find_locked(name);
    if (!list)
        return Error{ENOENT, "no list named " + name + " (flowwall deny list shows them)"};
    json view = view_locked(*list);
    json entries = json::array();
    for (size_t i = 0; i < list->stored.prefixes.size() && i < max_prefixes; ++i)
        entries.push_back(list->stored.prefixes[i].to_string());
    view["entries"] = std::move(entries);
    view["entries_truncated"] = list->stored.prefixes.size() > max_prefixes;
    return view;
}

json DenyLists::status_view() const {
    std::lock_guard lock(mutex_);
    size_t prefixes = 0;
    json failing = json::array();
    for (const auto& [name, list] : lists_) {
        prefixes += list->stored.prefixes.size();
        if (!list->last_error.empty() || !list->kernel_error.empty())
            failing.push_back(
                {{"name", name},
                 {"reason", list->kernel_error.empty() ? list->last_error : list->kernel_error}});
    }
    return {{"lists", lists_.size()}, {"prefixes", prefixes}, {"failing", failing}};
}

std::vector<std::string> DenyLists::problems() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> found;
    for (const auto& [name, list] : lists_) {
        if (!list->kernel_error.empty())
            found.push_back("deny list " + name + " is not in force: " + list->kernel_error);
        else if (!list->last_error.empty())
            found.push_back("deny list " + name + " keeps its last good version (" +
                            std::to_string(list->stored.prefixes.size()) +
                            " prefixes): " + list->last_error);
    }
    return found;
}

std::string DenyLists::metrics_text() const {
    std::lock_guard lock(mutex_);
    std::string text;
    if (lists_.empty())
        return text; // no families without samples
    auto family = [&text](const char* name, const char* type, const char* help) {
        text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    auto labels = [](const List& list) {
        return fmt::format("{{list=\"{}\",role=\"{}\",direction=\"{}\"}}", list.stored.spec.name,
                           role_name(list.stored.spec.role),
                           direction_name(list.stored.spec.direction));
    };
    family("flowwall_deny_list_prefixes", "gauge", "Prefixes of the version in force");
    for (const auto& [name, list] : lists_)
        text += fmt::format("flowwall_deny_list_prefixes{} {}\n", labels(*list),
                            list->stored.prefixes.size());
    family("flowwall_deny_list_dropped_packets_total", "counter", "Packets dropped by the list");
    for (const auto& [name, list] : lists_)
        text += fmt::format("flowwall_deny_list_dropped_packets_total{} {}\n", labels(*list),
                            kernel_.counters(list->stored.id).packets);
    family("flowwall_deny_list_dropped_bytes_total", "counter", "Bytes dropped by the list");
    for (const auto& [name, list] : lists_)
        text += fmt::format("flowwall_deny_list_dropped_bytes_total{} {}\n", labels(*list),
                            kernel_.counters(list->stored.id).bytes);
    family("flowwall_deny_list_refresh_failures_total", "counter",
           "Feed refreshes not applied (download failed or refused by the checks)");
    for (const auto& [name, list] : lists_)
        if (list->stored.spec.is_feed())
            text += fmt::format("flowwall_deny_list_refresh_failures_total{} {}\n", labels(*list),
                                list->refresh_failures);
    family("flowwall_deny_list_last_good", "gauge",
           "1 when the last refresh was applied (or unchanged), 0 when the list runs on an "
           "older version");
    for (const auto& [name, list] : lists_)
        text += fmt::format("flowwall_deny_list_last_good{} {}\n", labels(*list),
                            list->last_error.empty() && list->kernel_error.empty() ? 1 : 0);
    return text;
}

} // namespace flowwall::denylist
