// SPDX-License-Identifier: Apache-2.0
// The commands that change something: modes, learning, the model. Arguments are checked
// here first (a bad duration, mode or flow never reaches the daemon), and the daemon checks
// them again: the API has other clients.
#include "src/cli/commands.h"
#include "src/cli/render.h"
#include "src/common/atomic_file.h"
#include "src/common/duration.h"
#include "src/policy/flow_text.h"
#include "src/policy/modes.h"

#include <iostream>
#include <memory>

namespace flowwall::cli {

namespace {

using nlohmann::json;

int post(const CliContext& context, const std::string& command, const std::string& path,
         const json& body, const std::function<void(const json&)>& report) {
    auto answer = context.client().post(path, body);
    if (!answer)
        return fail(command, answer.error().message);
    report(answer.value());
    return kExitOk;
}

void add_mode(CLI::App& app, CliContext& context) {
    CLI::App* mode = app.add_subcommand(
        "mode", "show or set modes: learn, alert, block, off (without --identity: every identity, "
                "and what new identities move to after their own learning)");
    auto value = std::make_shared<std::string>();
    auto identity = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    mode->add_option("mode", *value, "learn | alert | block | off; omit to show the modes");
    mode->add_option("--identity", *identity, "only this identity");
    mode->add_flag("--json", *as_json, "print the API's JSON document");
    mode->callback([&context, value, identity, as_json] {
        context.action = [&context, value, identity, as_json]() -> int {
            if (value->empty()) {
                auto modes = context.client().get("/v1/mode");
                if (!modes)
                    return fail("mode", modes.error().message);
                std::cout << (*as_json ? modes.value().dump(2) + "\n"
                                       : render_modes(modes.value(), *identity));
                return kExitOk;
            }
            if (auto parsed = policy::parse_mode(*value); !parsed) {
                std::fprintf(stderr, "flowwall mode: %s\n", parsed.error().message.c_str());
                return kExitUsage;
            }
            json body{{"mode", *value}};
            if (!identity->empty())
                body["identity"] = *identity;
            return post(context, "mode", "/v1/mode", body, [&](const json& answer) {
                if (*as_json)
                    std::cout << answer.dump(2) << '\n';
                else
                    std::cout << render_mode_change(answer);
            });
        };
    });
}

void add_learn(CLI::App& app, CliContext& context) {
    CLI::App* learn = app.add_subcommand("learn", "restart learning (one identity or all)");
    auto identity = std::make_shared<std::string>();
    auto duration = std::make_shared<std::string>();
    learn->add_option("--identity", *identity, "only this identity");
    learn->add_option("--for", *duration,
                      "learn this long instead of the configured period "
                      "(e.g. 30s, 10m, 24h)");
    learn->callback([&context, identity, duration] {
        context.action = [&context, identity, duration]() -> int {
            json body = json::object();
            if (!identity->empty())
                body["identity"] = *identity;
            if (!duration->empty()) {
                auto parsed = common::parse_duration(*duration);
                if (!parsed) {
                    std::fprintf(stderr, "flowwall learn: --for: %s\n",
                                 parsed.error().message.c_str());
                    return kExitUsage;
                }
                body["for_ms"] = parsed.value().count();
            }
            return post(context, "learn", "/v1/learn", body,
                        [](const json& answer) { std::cout << render_mode_change(answer); });
        };
    });
}

// SRC DST PORT/PROTO -> the API's flow object, or a usage error.
std::optional<json> flow_arguments(const std::string& command,
                                   const std::vector<std::string>& args) {
    if (args.size() != 3) {
        std::fprintf(stderr, "flowwall %s: expected SRC DST PORT/PROTO, e.g. web db 3306/tcp\n",
                     command.c_str());
        return std::nullopt;
    }
    auto flow = policy::parse_flow(args[0], args[1], args[2]);
    if (!flow) {
        std::fprintf(stderr, "flowwall %s: %s\n", command.c_str(), flow.error().message.c_str());
        return std::nullopt;
    }
    return json{{"src", flow.value().src},
                {"dst", flow.value().dst},
                {"port", flow.value().port},
                {"protocol", policy::protocol_name(flow.value().protocol)}};
}

void add_model_commands(CLI::App& app, CliContext& context) {
    CLI::App* model = app.get_subcommand("model"); // made by add_query_commands()

    CLI::App* exporter = model->add_subcommand("export", "write the model to FILE (JSON, by "
                                                         "identity names: portable)");
    auto export_path = std::make_shared<std::string>();
    exporter->add_option("file", *export_path, "where to write it")->required();
    exporter->callback([&context, export_path] {
        context.action = [&context, export_path]() -> int {
            auto document = context.client().get("/v1/model");
            if (!document)
                return fail("model export", document.error().message);
            auto written =
                common::write_file_atomically(*export_path, document.value().dump(2) + "\n", 0644);
            if (!written)
                return fail("model export", written.error().to_string());
            std::cout << "exported " << document.value().at("flows").size() << " flows to "
                      << *export_path << '\n';
            return kExitOk;
        };
    });

    CLI::App* importer = model->add_subcommand("import", "merge the flows of FILE (an export) "
                                                         "into the model");
    auto import_path = std::make_shared<std::string>();
    importer->add_option("file", *import_path, "a file written by flowwall model export")
        ->required();
    importer->callback([&context, import_path] {
        context.action = [&context, import_path]() -> int {
            auto text = common::read_file(*import_path, 256u << 20);
            if (!text)
                return fail("model import", text.error().message);
            auto document = json::parse(text.value(), nullptr, false);
            if (document.is_discarded())
                return fail("model import", *import_path + " is not JSON: export a model with "
                                                           "flowwall model export FILE");
            return post(context, "model import", "/v1/model/import", document,
                        [](const json& answer) {
                            std::cout << "imported " << answer.at("added") << " new flows; the "
                                      << "model has " << answer.at("flows") << " flows\n";
                        });
        };
    });

    for (const char* verb : {"allow", "remove"}) {
        CLI::App* edit = model->add_subcommand(
            verb, std::string(verb) == std::string("allow")
                      ? "add a flow to the model: SRC DST PORT/PROTO (e.g. web db 3306/tcp)"
                      : "remove a flow from the model: SRC DST PORT/PROTO");
        auto args = std::make_shared<std::vector<std::string>>();
        edit->add_option("flow", *args, "SRC DST PORT/PROTO")->expected(3);
        std::string name = std::string("model ") + verb;
        std::string path = std::string("/v1/model/") + verb;
        edit->callback([&context, args, name, path] {
            context.action = [&context, args, name, path]() -> int {
                auto flow = flow_arguments(name, *args);
                if (!flow)
                    return kExitUsage;
                return post(context, name, path, *flow, [&](const json& answer) {
                    std::cout << answer.at("message").get<std::string>() << '\n';
                });
            };
        });
    }
}

} // namespace

void add_control_commands(CLI::App& app, CliContext& context) {
    add_mode(app, context);
    add_learn(app, context);
    add_model_commands(app, context);
}

} // namespace flowwall::cli
