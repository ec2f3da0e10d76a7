// SPDX-License-Identifier: Apache-2.0
// Identity names <-> the numeric ids the maps use. Users and the model see names only; the
// ids are a node-local detail, but they must stay the same across daemon restarts because
// pinned maps (policy, modes, ipcache) keep holding them while the daemon is away.
//
// Persisted in <state-dir>/identities.json (previous version kept as identities.json.prev):
//   {"version": 1, "next_id": 258,
//    "identities": [{"name": "mysql", "id": 256}, {"name": "web", "id": 257}]}
// next_id only grows, so an id is never handed to another name while the file lives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/common/result.h"

namespace flowwall::identity {

class IdentityRegistry {
public:
    static constexpr const char* kFileName = "identities.json";

    // Loads <state_dir>/identities.json (creating state_dir if needed). A corrupt file is
    // replaced by its previous version when that one parses (with a warning); if neither
    // does, the error names both files and why. Allocated ids stay below id_limit (the
    // capacity of the modes map, which is indexed by identity).
    static Result<IdentityRegistry> open(const std::filesystem::path& state_dir, uint32_t id_limit);

    IdentityRegistry(IdentityRegistry&&) noexcept;
    IdentityRegistry& operator=(IdentityRegistry&&) noexcept;
    ~IdentityRegistry();

    // The id of `name`, allocated and persisted before returning when the name is new.
    // Reserved names (unknown, host, world) have their fixed ids. Fails when the name is
    // not a valid identity name, when the ids are exhausted, or when the file cannot be
    // written (the allocation is then undone, so memory never runs ahead of the file).
    Result<uint32_t> id_for(const std::string& name);

    std::optional<uint32_t> find(const std::string& name) const;
    std::optional<std::string> name_of(uint32_t id) const;
    // Every identity, reserved ones included, sorted by id.
    std::vector<std::pair<std::string, uint32_t>> all() const;

    uint32_t id_limit() const;
    std::filesystem::path file_path() const;

private:
    struct State;
    explicit IdentityRegistry(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

} // namespace flowwall::identity
