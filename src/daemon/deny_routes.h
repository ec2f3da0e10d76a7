// SPDX-License-Identifier: Apache-2.0
// The control API's deny list and entity routes (docs/api.md): /v1/deny... and
// /v1/entities...
#pragma once

#include "src/api/http_message.h"
#include "src/denylist/cidr_entities.h"
#include "src/denylist/deny_lists.h"

#include <functional>
#include <optional>

namespace flowwall::daemon {

struct DenyTargets {
    denylist::DenyLists* lists = nullptr;       // null: deny lists are off on this node
    denylist::CidrEntities* entities = nullptr; // null: entities are off
    // The identity id an entity name has (the kernel reports it); nullopt when none yet.
    std::function<std::optional<uint32_t>(const std::string&)> entity_id;
};

// nullopt when the request is not one of these routes. Thread-safe.
std::optional<api::HttpResponse> route_deny_request(const api::HttpRequest& request,
                                                    const DenyTargets& targets);

} // namespace flowwall::daemon
