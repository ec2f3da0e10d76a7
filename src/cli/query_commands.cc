// SPDX-License-Identifier: Apache-2.0
// The read-only commands: they print a document of the API, as a table or as JSON.
#include "src/cli/commands.h"
#include "src/cli/render.h"

#include <cstdio>
#include <iostream>

namespace flowwall::cli {

int fail(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "flowwall %s: %s\n", command.c_str(), message.c_str());
    return kExitFailed;
}

namespace {

struct Query {
    const char* name;
    const char* help;
    const char* path;
    std::string (*render)(const nlohmann::json&);
};

int print_document(const CliContext& context, const std::string& command, const std::string& path,
                   bool as_json, std::string (*render)(const nlohmann::json&)) {
    auto document = context.client().get(path);
    if (!document)
        return fail(command, document.error().message);
    try {
        if (as_json)
            std::cout << document.value().dump(2) << '\n';
        else
            std::cout << render(document.value());
    } catch (const nlohmann::json::exception& error) {
        return fail(command, std::string("the daemon's answer is not what this CLI understands (") +
                                 error.what() + "); are flowwall and flowwalld the same version?");
    }
    return kExitOk;
}

void add_query(CLI::App& parent, CliContext& context, const Query& query,
               const std::string& command_name) {
    CLI::App* sub = parent.add_subcommand(query.name, query.help);
    auto as_json = std::make_shared<bool>(false);
    sub->add_flag("--json", *as_json, "print the API's JSON document (docs/api.md)");
    sub->callback([&context, query, as_json, command_name] {
        context.action = [&context, query, as_json, command_name] {
            return print_document(context, command_name, query.path, *as_json, query.render);
        };
    });
}

int print_events(const CliContext& context, bool follow, bool as_json, int limit) {
    auto print = [as_json](const nlohmann::json& record) {
        std::cout << (as_json ? record.dump() : render_audit_record(record)) << '\n';
        std::cout.flush();
    };
    if (!follow) {
        auto records = context.client().get("/v1/events?limit=" + std::to_string(limit));
        if (!records)
            return fail("events", records.error().message);
        for (const auto& record : records.value())
            print(record);
        return kExitOk;
    }
    auto streamed =
        context.client().stream_lines("/v1/events?follow=1", [&](std::string_view line) {
            if (line.empty())
                return true;
            auto record = nlohmann::json::parse(line, nullptr, false);
            if (record.is_discarded()) {
                std::fprintf(stderr, "flowwall events: skipping a line that is not JSON\n");
                return true;
            }
            if (record.contains("dropped")) {
                std::fprintf(stderr,
                             "flowwall events: %s records dropped (this reader was too slow)\n",
                             record.at("dropped").dump().c_str());
                return true;
            }
            print(record);
            return true;
        });
    if (!streamed)
        return fail("events", streamed.error().message);
    return kExitOk;
}

} // namespace

void add_query_commands(CLI::App& app, CliContext& context) {
    const Query top_level[] = {
        {"status", "daemon version, uptime, sources and their health, datapath, counts",
         "/v1/status", render_status},
        {"endpoints",
         "the workloads on this node (and, in a cluster, on the others, with their node)",
         "/v1/endpoints", render_endpoints},
        {"identities", "every known identity: id, mode, learning progress, flows", "/v1/identities",
         render_identities},
        {"nodes", "the cluster's nodes (--cluster-store): health, workloads, version", "/v1/nodes",
         render_nodes},
    };
    for (const auto& query : top_level)
        add_query(app, context, query, query.name);

    // add_control_commands() adds the model's other verbs to this same subcommand.
    CLI::App* model = app.add_subcommand("model", "the learned model: show, export, import, edit");
    model->require_subcommand(1);
    add_query(*model, context,
              {"show", "every flow of the model with first/last seen and count", "/v1/model",
               render_model},
              "model show");

    CLI::App* radar = app.add_subcommand(
        "radar", "the flow graph: identities and flows, learned, alerted or blocked");
    auto format = std::make_shared<std::string>("json");
    radar->add_option("--format", *format, "json, or dot for Graphviz (dot -Tpng)")
        ->check(CLI::IsMember({"json", "dot"}))
        ->capture_default_str();
    radar->callback([&context, format] {
        context.action = [&context, format] {
            return print_document(context, "radar", "/v1/graph", *format == "json", render_dot);
        };
    });

    CLI::App* events = app.add_subcommand("events", "audit records: alerts and blocks");
    auto follow = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    auto limit = std::make_shared<int>(100);
    events->add_flag("--follow,-f", *follow, "keep printing records as they happen");
    events->add_flag("--json", *as_json, "one JSON object a line (docs/api.md)");
    events->add_option("--limit", *limit, "how many recent records (without --follow)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    events->callback([&context, follow, as_json, limit] {
        context.action = [&context, follow, as_json, limit] {
            return print_events(context, *follow, *as_json, *limit);
        };
    });
}

} // namespace flowwall::cli
