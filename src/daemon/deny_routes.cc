// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/deny_routes.h"

#include <charconv>

namespace flowwall::daemon {

using api::error_response;
using api::HttpRequest;
using api::HttpResponse;
using api::json_response;
using nlohmann::json;

namespace {

HttpResponse from_result(Result<json> result) {
    if (result)
        return json_response(200, result.value());
    const Error& error = result.error();
    int status = error.errnum == ENOENT   ? 404
                 : error.errnum == EINVAL ? 400
                 : error.errnum == EEXIST ? 409
                 : error.errnum == ENOSPC ? 507
                                          : 500;
    return error_response(status, error.message);
}

// {"name": "...", "prefixes": ["..."]}, or the 400 that says what is wrong.
struct NamedPrefixes {
    std::string name;
    std::vector<std::string> prefixes;
};
std::optional<NamedPrefixes> named_prefixes(const HttpRequest& request, HttpResponse& error) {
    auto body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        error = error_response(400, "the request body must be a JSON object");
        return std::nullopt;
    }
    NamedPrefixes named;
    auto name = body.find("name");
    if (name == body.end() || !name->is_string()) {
        error = error_response(400, "\"name\" must be a string");
        return std::nullopt;
    }
    named.name = name->get<std::string>();
    if (auto prefixes = body.find("prefixes"); prefixes != body.end()) {
        if (!prefixes->is_array()) {
            error = error_response(400, "\"prefixes\" must be an array of strings");
            return std::nullopt;
        }
        for (const auto& prefix : *prefixes) {
            if (!prefix.is_string()) {
                error = error_response(400, "\"prefixes\" must be an array of strings");
                return std::nullopt;
            }
            named.prefixes.push_back(prefix.get<std::string>());
        }
    }
    return named;
}

json with_entity_ids(json entities, const DenyTargets& targets) {
    for (auto& entity : entities) {
        auto id = targets.entity_id ? targets.entity_id(entity.at("name").get<std::string>())
                                    : std::nullopt;
        entity["id"] = id ? json(*id) : json(nullptr);
    }
    return entities;
}

std::optional<HttpResponse> route_lists(const HttpRequest& request, denylist::DenyLists& lists) {
    const std::string& path = request.target;
    const bool get = request.method == "GET", post = request.method == "POST";
    if (get && path == "/v1/deny")
        return json_response(200, lists.lists_view());
    if (get && path == "/v1/deny/show") {
        size_t limit = 100;
        std::string text = request.query_param("limit");
        if (!text.empty()) {
            auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), limit);
            if (failure != std::errc() || end != text.data() + text.size())
                return error_response(400, "limit must be a number");
        }
        return from_result(lists.list_view(request.query_param("name"), limit));
    }
    if (post && path == "/v1/deny/create") {
        auto body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
        if (body.is_discarded())
            return error_response(400, "the request body must be a JSON object");
        return from_result(lists.create(body));
    }
    if (post && (path == "/v1/deny/add" || path == "/v1/deny/remove" || path == "/v1/deny/delete" ||
                 path == "/v1/deny/refresh")) {
        HttpResponse error;
        auto named = named_prefixes(request, error);
        if (!named)
            return error;
        if (path == "/v1/deny/add")
            return from_result(lists.add(named->name, named->prefixes));
        if (path == "/v1/deny/remove")
            return from_result(lists.remove(named->name, named->prefixes));
        if (path == "/v1/deny/delete")
            return from_result(lists.erase(named->name));
        return from_result(lists.refresh(named->name));
    }
    return std::nullopt;
}

} // namespace

std::optional<HttpResponse> route_deny_request(const HttpRequest& request,
                                               const DenyTargets& targets) {
    const std::string& path = request.target;
    if (path == "/v1/deny" || path.starts_with("/v1/deny/")) {
        if (!targets.lists)
            return error_response(404, "deny lists are off on this node");
        return route_lists(request, *targets.lists);
    }
    if (path == "/v1/entities" || path.starts_with("/v1/entities/")) {
        if (!targets.entities)
            return error_response(404, "CIDR entities are off on this node");
        if (request.method == "GET" && path == "/v1/entities")
            return json_response(200, with_entity_ids(targets.entities->view(), targets));
        if (request.method == "POST" &&
            (path == "/v1/entities/add" || path == "/v1/entities/remove")) {
            HttpResponse error;
            auto named = named_prefixes(request, error);
            if (!named)
                return error;
            auto changed = path == "/v1/entities/add"
                               ? targets.entities->add(named->name, named->prefixes)
                               : targets.entities->remove(named->name, named->prefixes);
            if (!changed)
                return from_result(std::move(changed));
            return json_response(200, with_entity_ids(std::move(changed.value()), targets));
        }
    }
    return std::nullopt;
}

} // namespace flowwall::daemon
