// SPDX-License-Identifier: Apache-2.0
#include "src/identity/identity_registry.h"

#include <cerrno>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "flowwall/abi.h"
#include "src/common/atomic_file.h"
#include "src/common/identity_name.h"
#include "src/identity/identity_naming.h"

namespace flowwall::identity {
namespace {

using json = nlohmann::json;

constexpr int kFormatVersion = 1;
// Far more than any node's identities; a bigger file is not ours.
constexpr size_t kMaxFileBytes = 64u << 20;

constexpr std::pair<std::string_view, uint32_t> kReserved[] = {
    {common::kUnknownIdentity, FW_ID_UNKNOWN},
    {common::kHostIdentity, FW_ID_HOST},
    {common::kWorldIdentity, FW_ID_WORLD},
};

std::optional<uint32_t> reserved_id(std::string_view name) {
    for (auto [reserved, id] : kReserved) {
        if (name == reserved)
            return id;
    }
    return std::nullopt;
}

std::optional<std::string> reserved_name(uint32_t id) {
    for (auto [reserved, reserved_id] : kReserved) {
        if (id == reserved_id)
            return std::string(reserved);
    }
    return std::nullopt;
}

struct Snapshot {
    uint32_t next_id = FW_ID_FIRST_ALLOCATED;
    std::map<uint32_t, std::string> names_by_id;
};

// The reason only; the caller says which file.
Result<Snapshot> parse_snapshot(const std::string& text) {
    json document;
    try {
        document = json::parse(text);
    } catch (const json::exception& e) { // parse_error, and out_of_range for 1e999
        return Error{EINVAL, std::string("not valid JSON (") + e.what() + ")"};
    }
    if (!document.is_object())
        return Error{EINVAL, "the top level is not a JSON object"};
    auto version = document.find("version");
    if (version == document.end() || !version->is_number_integer() ||
        version->get<int64_t>() != kFormatVersion)
        return Error{EINVAL, "\"version\" is missing or not " + std::to_string(kFormatVersion) +
                                 " (written by another flowwalld release?)"};
    auto next_id = document.find("next_id");
    if (next_id == document.end() || !next_id->is_number_unsigned() ||
        next_id->get<uint64_t>() < FW_ID_FIRST_ALLOCATED || next_id->get<uint64_t>() > UINT32_MAX)
        return Error{EINVAL, "\"next_id\" is missing or not a number from " +
                                 std::to_string(FW_ID_FIRST_ALLOCATED) + " to " +
                                 std::to_string(UINT32_MAX)};
    auto identities = document.find("identities");
    if (identities == document.end() || !identities->is_array())
        return Error{EINVAL, "\"identities\" is missing or not an array"};

    Snapshot snapshot;
    snapshot.next_id = next_id->get<uint32_t>();
    std::unordered_map<std::string, uint32_t> seen_names;
    for (size_t index = 0; index < identities->size(); ++index) {
        const auto& entry = (*identities)[index];
        std::string where = "identities[" + std::to_string(index) + "]";
        if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
            !entry.contains("id") || !entry["id"].is_number_unsigned())
            return Error{EINVAL, where + " is not {\"name\": string, \"id\": number}"};
        auto name = entry["name"].get<std::string>();
        auto id = entry["id"].get<uint64_t>();
        if (auto valid = common::validate_identity_name(name); !valid)
            return Error{EINVAL, where + ": " + valid.error().message};
        if (reserved_id(name))
            return Error{EINVAL, where + ": \"" + name + "\" is a reserved identity"};
        if (id < FW_ID_FIRST_ALLOCATED || id >= snapshot.next_id)
            return Error{EINVAL, where + ": id " + std::to_string(id) + " is outside " +
                                     std::to_string(FW_ID_FIRST_ALLOCATED) + ".." +
                                     std::to_string(snapshot.next_id - 1) + " (below next_id)"};
        if (auto [previous, fresh] = seen_names.emplace(name, id); !fresh)
            return Error{EINVAL, where + ": \"" + name + "\" appears twice (ids " +
                                     std::to_string(previous->second) + " and " +
                                     std::to_string(id) + ")"};
        if (auto [previous, fresh] = snapshot.names_by_id.emplace(id, name); !fresh)
            return Error{EINVAL, where + ": id " + std::to_string(id) + " is given to both \"" +
                                     previous->second + "\" and \"" + name + "\""};
    }
    return snapshot;
}

std::string serialize(const Snapshot& snapshot) {
    json identities = json::array();
    for (const auto& [id, name] : snapshot.names_by_id)
        identities.push_back(json{{"name", name}, {"id", id}});
    // Key order as documented in the header, for people reading the file.
    json document = json::object();
    document["version"] = kFormatVersion;
    document["next_id"] = snapshot.next_id;
    document["identities"] = std::move(identities);
    return document.dump(2) + "\n";
}

struct LoadAttempt {
    std::optional<Snapshot> snapshot;
    std::optional<Error> error; // set when the file exists but cannot be used
    bool missing = false;
    bool corrupt = false; // read fine, did not parse: a reason to fall back
};

LoadAttempt try_load(const std::filesystem::path& path) {
    auto text = common::read_file(path, kMaxFileBytes);
    if (!text) {
        if (text.error().errnum == ENOENT)
            return {.missing = true};
        return {.error = text.error()};
    }
    auto snapshot = parse_snapshot(text.value());
    if (!snapshot)
        return {.error = Error{EINVAL, path.string() + ": " + snapshot.error().message},
                .corrupt = true};
    return {.snapshot = std::move(snapshot).value()};
}

} // namespace

struct IdentityRegistry::State {
    std::filesystem::path file;
    uint32_t id_limit = 0;
    mutable std::shared_mutex mutex;
    Snapshot snapshot;
    std::unordered_map<std::string, uint32_t> ids_by_name;
};

IdentityRegistry::IdentityRegistry(std::unique_ptr<State> state) : state_(std::move(state)) {}
IdentityRegistry::IdentityRegistry(IdentityRegistry&&) noexcept = default;
IdentityRegistry& IdentityRegistry::operator=(IdentityRegistry&&) noexcept = default;
IdentityRegistry::~IdentityRegistry() = default;

Result<IdentityRegistry> IdentityRegistry::open(const std::filesystem::path& state_dir,
                                                uint32_t id_limit) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec)
        return Error::from_errno(ec.value(), "create state directory " + state_dir.string());

    auto state = std::make_unique<State>();
    state->file = state_dir / kFileName;
    state->id_limit = id_limit;
    auto previous_file = common::previous_version_path(state->file);
    // A kill during a save leaves its temporary file; the rename never happened, so the
    // file itself is whole, and the leftover would only pile up.
    if (size_t removed = common::remove_interrupted_writes(state->file); removed > 0)
        spdlog::info("identities: removed {} temporary file(s) of an interrupted save", removed);

    auto current = try_load(state->file);
    if (current.error && !current.corrupt)
        return *current.error;
    if (current.snapshot) {
        state->snapshot = std::move(*current.snapshot);
    } else {
        auto previous = try_load(previous_file);
        if (previous.snapshot) {
            spdlog::warn("identities: {}; using its previous version {} instead",
                         current.missing ? state->file.string() + " is missing"
                                         : current.error->message,
                         previous_file.string());
            state->snapshot = std::move(*previous.snapshot);
            // Every allocation persists and keeps the previous version, so the lost file
            // held at most one id more than this one: skip it, in case pinned maps still
            // carry it for another name.
            if (state->snapshot.next_id < UINT32_MAX)
                ++state->snapshot.next_id;
            if (current.corrupt) {
                auto kept = state->file;
                kept += ".corrupt";
                std::filesystem::rename(state->file, kept, ec);
                if (!ec)
                    spdlog::warn("identities: kept the corrupt file as {}", kept.string());
            }
            // Not keep_previous: the previous version is the good copy we just used.
            if (auto status = common::write_file_atomically(state->file, serialize(state->snapshot),
                                                            0644, false);
                !status)
                return status.error();
        } else if (current.missing && previous.missing) {
            // First start: nothing allocated yet.
        } else {
            std::string why_current =
                current.missing ? state->file.string() + " is missing" : current.error->message;
            std::string why_previous = previous.missing   ? previous_file.string() + " is missing"
                                       : previous.corrupt ? previous.error->message
                                                          : previous.error->to_string();
            return Error{EINVAL, "identity registry is unusable: " + why_current + "; " +
                                     why_previous +
                                     ". Fix the file, or move both aside to start with new "
                                     "ids (then run flowwalld --cleanup so pinned maps do not "
                                     "keep the old ones)"};
        }
    }

    for (const auto& [id, name] : state->snapshot.names_by_id)
        state->ids_by_name.emplace(name, id);
    if (!state->snapshot.names_by_id.empty() &&
        state->snapshot.names_by_id.rbegin()->first >= id_limit)
        spdlog::warn("identities: ids up to {} are in use but mode-entries is {}; identities "
                     "beyond it take the default mode. Raise mode-entries to at least {}",
                     state->snapshot.names_by_id.rbegin()->first, id_limit,
                     state->snapshot.next_id);
    return IdentityRegistry(std::move(state));
}

Result<uint32_t> IdentityRegistry::id_for(const std::string& name) {
    if (auto id = reserved_id(name))
        return *id;
    {
        std::shared_lock lock(state_->mutex);
        if (auto found = state_->ids_by_name.find(name); found != state_->ids_by_name.end())
            return found->second;
    }
    if (auto valid = common::validate_identity_name(name); !valid)
        return valid.error();

    std::unique_lock lock(state_->mutex);
    if (auto found = state_->ids_by_name.find(name); found != state_->ids_by_name.end())
        return found->second; // another thread allocated it meanwhile
    auto& snapshot = state_->snapshot;
    if (snapshot.next_id >= state_->id_limit)
        return Error{ENOSPC, "no identity id left for \"" + name + "\": ids " +
                                 std::to_string(FW_ID_FIRST_ALLOCATED) + ".." +
                                 std::to_string(state_->id_limit - 1) +
                                 " are used up; raise mode-entries (now " +
                                 std::to_string(state_->id_limit) + ") in the config"};
    uint32_t id = snapshot.next_id;
    snapshot.names_by_id.emplace(id, name);
    ++snapshot.next_id;
    if (auto status = common::write_file_atomically(state_->file, serialize(snapshot), 0644, true);
        !status) {
        snapshot.names_by_id.erase(id);
        --snapshot.next_id;
        return Error::from_errno(status.error().errnum,
                                 "persist identity \"" + name + "\": " + status.error().message);
    }
    state_->ids_by_name.emplace(name, id);
    return id;
}

std::optional<uint32_t> IdentityRegistry::find(const std::string& name) const {
    if (auto id = reserved_id(name))
        return id;
    std::shared_lock lock(state_->mutex);
    auto found = state_->ids_by_name.find(name);
    if (found == state_->ids_by_name.end())
        return std::nullopt;
    return found->second;
}

std::optional<std::string> IdentityRegistry::name_of(uint32_t id) const {
    if (auto name = reserved_name(id))
        return name;
    std::shared_lock lock(state_->mutex);
    auto found = state_->snapshot.names_by_id.find(id);
    if (found == state_->snapshot.names_by_id.end())
        return std::nullopt;
    return found->second;
}

std::vector<std::pair<std::string, uint32_t>> IdentityRegistry::all() const {
    std::vector<std::pair<std::string, uint32_t>> result;
    for (auto [name, id] : kReserved)
        result.emplace_back(std::string(name), id);
    std::shared_lock lock(state_->mutex);
    for (const auto& [id, name] : state_->snapshot.names_by_id)
        result.emplace_back(name, id);
    return result;
}

uint32_t IdentityRegistry::id_limit() const {
    return state_->id_limit;
}

std::filesystem::path IdentityRegistry::file_path() const {
    return state_->file;
}

} // namespace flowwall::identity
