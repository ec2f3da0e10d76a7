// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/cidr_entities.h"

#include "src/common/atomic_file.h"
#include "src/common/identity_name.h"
#include "src/denylist/feed_parser.h"
#include "src/denylist/prefix_set.h"

#include <algorithm>

namespace flowwall::denylist {

using nlohmann::json;

namespace {

Status validate_entity_name(std::string_view name) {
    if (auto valid = common::validate_identity_name(name); !valid)
        return valid;
    if (name == common::kWorldIdentity || name == common::kHostIdentity ||
        name == common::kUnknownIdentity)
        return Error{EINVAL, "'" + std::string(name) +
                                 "' is a reserved identity; pick another "
                                 "name for the entity"};
    return {};
}

Result<std::vector<IpPrefix>> parse_prefixes(const std::vector<std::string>& texts) {
    std::vector<IpPrefix> prefixes;
    for (const auto& text : texts) {
        auto prefix = parse_listed_prefix(text);
        if (!prefix)
            return prefix.error();
        prefixes.push_back(prefix.value());
    }
    std::sort(prefixes.begin(), prefixes.end(), prefix_less);
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    return prefixes;
}

std::vector<std::string> texts_of(const std::vector<IpPrefix>& prefixes) {
    std::vector<std::string> texts;
    for (const auto& prefix : prefixes)
        texts.push_back(prefix.to_string());
    return texts;
}

} // namespace

Result<std::pair<std::string, std::vector<IpPrefix>>> parse_entity_text(std::string_view text) {
    auto equals = text.find('=');
    if (equals == std::string_view::npos)
        return Error{EINVAL, "an entity is NAME=PREFIX[,PREFIX...], e.g. "
                             "payments-api=203.0.113.0/24, not '" +
                                 std::string(text) + "'"};
    std::string name(text.substr(0, equals));
    if (auto valid = validate_entity_name(name); !valid)
        return valid.error();
    std::vector<std::string> texts;
    std::string_view rest = text.substr(equals + 1);
    while (!rest.empty()) {
        auto comma = rest.find(',');
        texts.emplace_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    auto prefixes = parse_prefixes(texts);
    if (!prefixes)
        return Error{EINVAL, "entity " + name + ": " + prefixes.error().message};
    if (prefixes.value().empty())
        return Error{EINVAL, "entity " + name + " has no prefix"};
    return std::make_pair(name, std::move(prefixes.value()));
}

CidrEntities::CidrEntities(std::filesystem::path file, EntityPrefixes configured,
                           EntityPrefixes added)
    : file_(std::move(file)), configured_(std::move(configured)), added_(std::move(added)) {}

Result<std::unique_ptr<CidrEntities>> CidrEntities::open(const std::filesystem::path& state_dir,
                                                         EntityPrefixes configured) {
    auto file = state_dir / "entities.json";
    EntityPrefixes added;
    auto text = common::read_file(file, size_t{16} << 20);
    if (!text && text.error().errnum != ENOENT)
        return Error{text.error().errnum, file.string() + ": " + text.error().message};
    if (text) {
        auto document = json::parse(text.value(), nullptr, false);
        if (document.is_discarded() || !document.is_object() ||
            !document.value("entities", json()).is_object())
            return Error{EINVAL, file.string() +
                                     " is not an entities file "
                                     "({\"entities\": {NAME: [PREFIX...]}}); "
                                     "restore it from " +
                                     common::previous_version_path(file).string() +
                                     " or remove it"};
        for (const auto& [name, prefixes] : document["entities"].items()) {
            std::vector<std::string> texts;
            for (const auto& prefix : prefixes)
                texts.push_back(prefix.is_string() ? prefix.get<std::string>() : "");
            auto parsed = parse_prefixes(texts);
            if (!parsed || validate_entity_name(name).ok() == false)
                return Error{EINVAL, file.string() + ": entity '" + name + "' is not valid"};
            added[name] = std::move(parsed.value());
        }
    }
    return std::unique_ptr<CidrEntities>(
        new CidrEntities(std::move(file), std::move(configured), std::move(added)));
}

Status CidrEntities::save_locked() const {
    json entities = json::object();
    for (const auto& [name, prefixes] : added_)
        entities[name] = texts_of(prefixes);
    return common::write_file_atomically(file_, json{{"entities", entities}}.dump(2) + "\n", 0600,
                                         /*keep_previous=*/true);
}

EntityPrefixes CidrEntities::merged_locked() const {
    EntityPrefixes merged = added_;
    for (const auto& [name, prefixes] : configured_) {
        auto& into = merged[name];
        into.insert(into.end(), prefixes.begin(), prefixes.end());
        std::sort(into.begin(), into.end(), prefix_less);
        into.erase(std::unique(into.begin(), into.end()), into.end());
    }
    return merged;
}

Result<json> CidrEntities::add(const std::string& name, const std::vector<std::string>& texts) {
    if (auto valid = validate_entity_name(name); !valid)
        return valid.error();
    auto prefixes = parse_prefixes(texts);
    if (!prefixes)
        return prefixes.error();
    if (prefixes.value().empty())
        return Error{EINVAL, "no prefixes given"};
    {
        std::lock_guard lock(mutex_);
        // One prefix names one entity: the kernel maps it to one identity.
        for (const auto& [other, held] : merged_locked())
            for (const auto& prefix : prefixes.value())
                if (other != name && std::find(held.begin(), held.end(), prefix) != held.end())
                    return Error{EEXIST, prefix.to_string() + " already names entity " + other};
        auto before = added_;
        auto& into = added_[name];
        into.insert(into.end(), prefixes.value().begin(), prefixes.value().end());
        std::sort(into.begin(), into.end(), prefix_less);
        into.erase(std::unique(into.begin(), into.end()), into.end());
        if (auto saved = save_locked(); !saved) {
            added_ = std::move(before);
            return saved.error();
        }
    }
    notify();
    return view();
}

Result<json> CidrEntities::remove(const std::string& name, const std::vector<std::string>& texts) {
    auto prefixes = parse_prefixes(texts);
    if (!prefixes)
        return prefixes.error();
    {
        std::lock_guard lock(mutex_);
        auto it = added_.find(name);
        if (it == added_.end())
            return Error{configured_.count(name) ? EINVAL : ENOENT,
                         configured_.count(name)
                             ? "entity " + name + " comes from the config; edit the config"
                             : "no entity named " + name + " (flowwall entity list)"};
        auto before = added_;
        if (prefixes.value().empty()) {
            added_.erase(it);
        } else {
            auto& held = it->second;
            size_t size = held.size();
            for (const auto& prefix : prefixes.value())
                held.erase(std::remove(held.begin(), held.end(), prefix), held.end());
            if (held.size() == size)
                return Error{ENOENT, "entity " + name + " has none of these prefixes"};
            if (held.empty())
                added_.erase(it);
        }
        if (auto saved = save_locked(); !saved) {
            added_ = std::move(before);
            return saved.error();
        }
    }
    notify();
    return view();
}

EntityPrefixes CidrEntities::all() const {
    std::lock_guard lock(mutex_);
    return merged_locked();
}

json CidrEntities::view() const {
    std::lock_guard lock(mutex_);
    json entities = json::array();
    for (const auto& [name, prefixes] : merged_locked())
        entities.push_back({{"name", name},
                            {"prefixes", texts_of(prefixes)},
                            {"from", configured_.count(name) ? "config" : "api"}});
    return entities;
}

void CidrEntities::on_change(std::function<void(const EntityPrefixes&)> changed) {
    std::lock_guard lock(mutex_);
    changed_ = std::move(changed);
}

void CidrEntities::notify() {
    std::function<void(const EntityPrefixes&)> changed;
    EntityPrefixes current;
    {
        std::lock_guard lock(mutex_);
        changed = changed_;
        current = merged_locked();
    }
    if (changed)
        changed(current);
}

} // namespace flowwall::denylist
