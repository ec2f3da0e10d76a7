// SPDX-License-Identifier: Apache-2.0
// CIDR entities: outside networks with a name ("payments-api" = 203.0.113.0/24), so the model
// can say `web -> payments-api 443/tcp` instead of `web -> world 443/tcp`. The name is an
// identity name (it shares the identities' namespace and gets an identity id from the
// daemon's registry); the kernel maps each prefix to that id (fw_cidr_v1, longest prefix
// wins), so learning learns under the entity and enforcement judges it like any identity.
//
// Entities come from the config (fixed while the daemon runs) and from the API (persisted
// in <state dir>/entities.json, written atomically). Thread-safe.
#pragma once

#include "src/common/ip_address.h"
#include "src/common/result.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace flowwall::denylist {

using EntityPrefixes = std::map<std::string, std::vector<IpPrefix>>; // name -> sorted prefixes

// "payments-api=203.0.113.0/24,2001:db8:5::/48": the config key's form.
Result<std::pair<std::string, std::vector<IpPrefix>>> parse_entity_text(std::string_view text);

class CidrEntities {
public:
    // Loads entities.json (missing: none; unreadable: an Error naming it) and merges the
    // configured ones. `changed` is called (under no lock of this class) after every change
    // with the whole set.
    static Result<std::unique_ptr<CidrEntities>> open(const std::filesystem::path& state_dir,
                                                      EntityPrefixes configured);

    Result<nlohmann::json> add(const std::string& name, const std::vector<std::string>& prefixes);
    // No prefixes: the whole entity.
    Result<nlohmann::json> remove(const std::string& name,
                                  const std::vector<std::string>& prefixes);
    EntityPrefixes all() const;
    // [{"name", "prefixes": [...], "from": "config"|"api"}], ids added by the caller.
    nlohmann::json view() const;

    void on_change(std::function<void(const EntityPrefixes&)> changed);

private:
    CidrEntities(std::filesystem::path file, EntityPrefixes configured, EntityPrefixes added);
    Status save_locked() const;
    EntityPrefixes merged_locked() const;
    void notify();

    std::filesystem::path file_;
    const EntityPrefixes configured_;
    mutable std::mutex mutex_;
    EntityPrefixes added_; // through the API
    std::function<void(const EntityPrefixes&)> changed_;
};

} // namespace flowwall::denylist
