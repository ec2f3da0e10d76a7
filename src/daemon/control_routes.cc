// SPDX-License-Identifier: Apache-2.0
#include "src/daemon/control_routes.h"

#include "src/audit/audit_record.h"
#include "src/policy/flow_text.h"

#include <charconv>

namespace flowwall::daemon {

using api::error_response;
using api::HttpRequest;
using api::HttpResponse;
using api::json_response;
using nlohmann::json;

namespace {

// `flowwall events --follow` streams audit records as the API's streaming body.
class BodyLines : public audit::LineWriter {
public:
    explicit BodyLines(api::BodyWriter& body) : body_(body) {}
    bool write(std::string_view lines) override { return body_.write(lines); }
    bool alive() override { return body_.alive(); }

private:
    api::BodyWriter& body_;
};

// Errors of the policy layer carry errno: which HTTP status tells the client what happened.
HttpResponse error_from(const Error& error) {
    int status = error.errnum == ENOENT ? 404 : error.errnum == EINVAL ? 400 : 500;
    return error_response(status, error.message);
}

HttpResponse from_result(Result<json> result) {
    if (!result)
        return error_from(result.error());
    return json_response(200, result.value());
}

// The body of a POST as a JSON object whose `text_fields`, where present, are strings; or the
// 400 that says why not ({"mode": 5} is not "" for a mode that is then refused as "").
std::optional<json> body_object(const HttpRequest& request, HttpResponse& error,
                                std::initializer_list<const char*> text_fields = {}) {
    auto body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        error = error_response(400, "the request body must be a JSON object");
        return std::nullopt;
    }
    for (const char* key : text_fields) {
        auto it = body.find(key);
        if (it != body.end() && !it->is_string()) {
            error = error_response(400, "\"" + std::string(key) + "\" must be a string, not " +
                                            std::string(it->type_name()));
            return std::nullopt;
        }
    }
    return body;
}

std::string string_field(const json& body, const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// {"src", "dst", "port", "protocol"}: the flow fields of the export format.
Result<policy::FlowKey> flow_from(const json& body) {
    auto port = body.find("port");
    if (port == body.end() || !port->is_number_unsigned() || port->get<uint64_t>() > 65535)
        return Error{EINVAL, "\"port\" must be a number 0-65535 (0 for ICMP)"};
    auto protocol = policy::parse_protocol(string_field(body, "protocol"));
    if (!protocol)
        return protocol.error();
    policy::FlowKey flow{string_field(body, "src"), string_field(body, "dst"),
                         static_cast<uint16_t>(port->get<uint64_t>()), protocol.value()};
    if (policy::protocol_has_ports(flow.protocol) && flow.port == 0)
        return Error{EINVAL, "\"port\" must be 1-65535 for tcp and udp"};
    if (auto valid = policy::validate_flow_key(flow); !valid)
        return valid.error();
    return flow;
}

HttpResponse flow_change(const HttpRequest& request, enforcement::FirewallPolicy& policy,
                         bool allow) {
    HttpResponse error;
    auto body = body_object(request, error, {"src", "dst", "protocol"});
    if (!body)
        return error;
    auto flow = flow_from(*body);
    if (!flow)
        return error_response(400, flow.error().message);
    return from_result(allow ? policy.allow(flow.value()) : policy.remove(flow.value()));
}

HttpResponse events(const HttpRequest& request, audit::AuditStream& stream) {
    if (request.query_param("follow") == "1" || request.query_param("follow") == "true") {
        HttpResponse response;
        response.content_type = "application/x-ndjson";
        response.stream = [&stream](api::BodyWriter& body) {
            BodyLines lines(body);
            audit::stream_json_lines(stream, lines);
        };
        return response;
    }
    size_t limit = 100;
    std::string text = request.query_param("limit");
    if (!text.empty()) {
        auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), limit);
        if (failure != std::errc() || end != text.data() + text.size() || limit == 0 ||
            limit > 100000)
            return error_response(400, "limit must be a number 1-100000");
    }
    json records = json::array();
    for (const auto& record : stream.recent(limit))
        records.push_back(audit::to_json(record));
    return json_response(200, records);
}

} // namespace

HttpResponse route_control_request(const HttpRequest& request, ControlTargets& targets) {
    const std::string& path = request.target;
    const bool get = request.method == "GET";
    const bool post = request.method == "POST";
    if (targets.outside)
        if (auto answer = route_deny_request(request, targets.outside->deny_targets()))
            return std::move(*answer);
    if (get && path == "/v1/status") {
        json status = status_view(targets.info, *targets.agent.snapshot());
        status["model"] = {{"flows", targets.policy.flow_count()},
                           {"error", targets.policy.last_error().empty()
                                         ? json(nullptr)
                                         : json(targets.policy.last_error())}};
        // Per identity: learning progress, flows learned and quiet time (identities has the
        // same and more).
        status["learning"] = learning_view(targets.policy.identity_views());
        if (targets.events)
            status["events"] = {{"received", targets.events->events()},
                                {"audit_records", targets.events->audit_records()}};
        status["capacity"] = targets.capacity.view();
        status["cluster"] = targets.cluster ? targets.cluster->status_json() : json(nullptr);
        status["outside"] = targets.outside ? targets.outside->status_view() : json(nullptr);
        return json_response(200, status);
    }
    if (get && path == "/v1/nodes") {
        if (!targets.cluster)
            return json_response(
                404, {{"error", "this node runs alone: start flowwalld with --cluster-store "
                                "etcd://HOST:PORT to share workloads with other nodes"}});
        return json_response(200, targets.cluster->nodes_json());
    }
    if (get && path == "/v1/endpoints")
        return json_response(200, endpoints_view(*targets.agent.snapshot()));
    if (get && path == "/v1/identities")
        return json_response(
            200, identities_view(*targets.agent.snapshot(), targets.policy.identity_views()));
    if (get && path == "/v1/mode")
        return json_response(200, targets.policy.modes_view());
    if (post && path == "/v1/mode") {
        HttpResponse error;
        auto body = body_object(request, error, {"mode", "identity"});
        if (!body)
            return error;
        return from_result(
            targets.policy.set_mode(string_field(*body, "mode"), string_field(*body, "identity")));
    }
    if (post && path == "/v1/learn") {
        HttpResponse error;
        auto body = body_object(request, error, {"identity"});
        if (!body)
            return error;
        std::optional<std::chrono::milliseconds> duration;
        if (auto it = body->find("for_ms"); it != body->end()) {
            if (!it->is_number_unsigned())
                return error_response(400, "\"for_ms\" must be a number of milliseconds");
            duration = std::chrono::milliseconds(it->get<uint64_t>());
        }
        return from_result(targets.policy.relearn(string_field(*body, "identity"), duration));
    }
    if (get && path == "/v1/model") {
        HttpResponse response;
        response.body = targets.policy.model_text();
        return response;
    }
    if (post && path == "/v1/model/import") {
        HttpResponse error;
        auto body = body_object(request, error);
        if (!body)
            return error;
        return from_result(targets.policy.import_model(*body));
    }
    if (post && (path == "/v1/model/allow" || path == "/v1/model/remove"))
        return flow_change(request, targets.policy, path == "/v1/model/allow");
    if (get && path == "/v1/graph") {
        return json_response(200,
                             graph_view(*targets.agent.snapshot(), targets.policy.identity_views(),
                                        targets.policy.flows(), targets.audit_stream.recent(1000)));
    }
    if (get && path == "/v1/events")
        return events(request, targets.audit_stream);
    return error_response(404,
                          request.method + " " + path + " is not part of the API; see docs/api.md");
}

} // namespace flowwall::daemon
