// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/list_store.h"

#include "src/common/atomic_file.h"
#include "src/denylist/feed_parser.h"

#include <nlohmann/json.hpp>

#include <system_error>

namespace flowwall::denylist {

using nlohmann::json;

namespace {

constexpr size_t kMaxIndexBytes = size_t{16} << 20;
constexpr size_t kMaxPrefixesBytes = size_t{512} << 20;

int64_t seconds_since_epoch(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

} // namespace

ListStore::ListStore(std::filesystem::path state_dir) : state_dir_(std::move(state_dir)) {}

Result<LoadedLists> ListStore::load() const {
    LoadedLists loaded;
    auto text = common::read_file(index_path(), kMaxIndexBytes);
    if (!text) {
        if (text.error().errnum == ENOENT)
            return loaded;
        return Error{text.error().errnum, index_path().string() + ": " + text.error().message};
    }
    auto document = json::parse(text.value(), nullptr, false);
    if (document.is_discarded() || !document.is_object() || !document.contains("lists") ||
        !document["lists"].is_array())
        return Error{EINVAL, index_path().string() +
                                 " is not a deny list index ({\"lists\": [...]}); restore it "
                                 "from " +
                                 common::previous_version_path(index_path()).string() +
                                 " or remove it to start without lists"};
    for (const auto& entry : document["lists"]) {
        auto spec = list_spec_from_json(entry);
        if (!spec) {
            loaded.problems.push_back(index_path().string() +
                                      ": a list is skipped: " + spec.error().message);
            continue;
        }
        StoredList list;
        list.spec = std::move(spec.value());
        list.id = entry.value("id", 0u);
        list.etag = entry.value("etag", "");
        list.last_modified = entry.value("last_modified", "");
        list.updated_at = std::chrono::system_clock::time_point(
            std::chrono::seconds(entry.value("updated_at", int64_t{0})));
        auto prefixes = common::read_file(prefixes_path(list.spec.name), kMaxPrefixesBytes);
        if (prefixes) {
            ParseOptions options;
            options.format = FeedFormat::prefix_lines;
            auto parsed = parse_feed(prefixes.value(), options);
            if (parsed.bad_lines > 0)
                loaded.problems.push_back(prefixes_path(list.spec.name).string() + ": " +
                                          parsed.bad_lines_summary());
            list.prefixes = std::move(parsed.prefixes);
        } else if (prefixes.error().errnum != ENOENT ||
                   list.updated_at.time_since_epoch().count()) {
            loaded.problems.push_back(prefixes_path(list.spec.name).string() + ": " +
                                      prefixes.error().message + "; list " + list.spec.name +
                                      " starts empty");
            list.etag.clear(); // download it again in full
            list.last_modified.clear();
        }
        loaded.lists.push_back(std::move(list));
    }
    return loaded;
}

Status ListStore::save_index(const std::vector<const StoredList*>& lists) const {
    json entries = json::array();
    for (const StoredList* list : lists) {
        json entry = to_json(list->spec);
        entry["id"] = list->id;
        entry["etag"] = list->etag;
        entry["last_modified"] = list->last_modified;
        entry["updated_at"] = seconds_since_epoch(list->updated_at);
        entries.push_back(std::move(entry));
    }
    json document{{"version", 1}, {"lists", std::move(entries)}};
    return common::write_file_atomically(index_path(), document.dump(2) + "\n", 0600,
                                         /*keep_previous=*/true);
}

Status ListStore::save_prefixes(const std::string& name,
                                const std::vector<IpPrefix>& prefixes) const {
    std::error_code error;
    std::filesystem::create_directories(state_dir_ / "deny-lists", error);
    if (error)
        return Error::from_errno(error.value(), "create " + (state_dir_ / "deny-lists").string());
    std::string text;
    text.reserve(prefixes.size() * 18);
    for (const auto& prefix : prefixes) {
        text += prefix.to_string();
        text += '\n';
    }
    return common::write_file_atomically(prefixes_path(name), text, 0600);
}

void ListStore::forget(const std::string& name) const {
    std::error_code ignored;
    std::filesystem::remove(prefixes_path(name), ignored);
}

} // namespace flowwall::denylist
