// SPDX-License-Identifier: Apache-2.0
// `flowwall deny ...` (named deny and allow lists, feeds) and `flowwall entity ...` (named
// outside networks). Names and prefixes are checked here first, so a typo never reaches the
// daemon; the daemon checks them again.
#include "src/cli/commands.h"
#include "src/cli/deny_render.h"
#include "src/common/atomic_file.h"
#include "src/common/duration.h"
#include "src/common/identity_name.h"
#include "src/denylist/feed_parser.h"
#include "src/denylist/list_spec.h"

#include <iostream>
#include <memory>

namespace flowwall::cli {

namespace {

using nlohmann::json;

int usage(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "flowwall %s: %s\n", command.c_str(), message.c_str());
    return kExitUsage;
}

// Sends `body`, prints the answer as JSON or through `render`.
int call(const CliContext& context, const std::string& command, const std::string& method,
         const std::string& path, const json& body, bool as_json,
         std::string (*render)(const json&)) {
    auto answer = method == "GET" ? context.client().get(path) : context.client().post(path, body);
    if (!answer)
        return fail(command, answer.error().message);
    try {
        std::cout << (as_json ? answer.value().dump(2) + "\n" : render(answer.value()));
    } catch (const json::exception& error) {
        return fail(command, std::string("the daemon's answer is not what this CLI understands (") +
                                 error.what() + "); are flowwall and flowwalld the same version?");
    }
    return kExitOk;
}

std::string render_change(const json& answer) {
    if (answer.contains("deleted"))
        return "deleted list " + answer.at("deleted").get<std::string>() + " (" +
               std::to_string(answer.at("prefixes").get<uint64_t>()) + " prefixes)\n";
    std::string text = render_deny_lists(json::array({answer}));
    for (const auto& overlap : answer.value("covers_protected", json::array()))
        text += "note: " + overlap.get<std::string>() + ", which always wins\n";
    return text;
}

// Checks every prefix; the first bad one is a usage error.
bool check_prefixes(const std::string& command, const std::vector<std::string>& prefixes) {
    for (const auto& prefix : prefixes)
        if (auto parsed = denylist::parse_listed_prefix(prefix); !parsed) {
            usage(command, parsed.error().message);
            return false;
        }
    return true;
}

struct CreateArguments {
    std::string name, url, file, direction = "inbound", format = "auto", refresh, timeout;
    std::vector<std::string> prefixes;
    bool allow = false;
    uint64_t max_bytes = 0;
    double max_shrink = -1;
    int64_t max_bad_lines = -1;
    bool as_json = false;
};

int create_list(const CliContext& context, const CreateArguments& args) {
    const std::string command = "deny create";
    json body{{"name", args.name},
              {"role", args.allow ? "allow" : "deny"},
              {"direction", args.direction}};
    if (!check_prefixes(command, args.prefixes))
        return kExitUsage;
    if (!args.url.empty()) {
        if (!args.prefixes.empty() || !args.file.empty())
            return usage(command, "a feed (--url) takes its prefixes from the feed: leave out "
                                  "--prefix and --from-file");
        body["source"] = "feed";
        body["url"] = args.url;
        body["format"] = args.format;
        if (!args.refresh.empty())
            body["refresh"] = args.refresh;
        if (!args.timeout.empty())
            body["timeout"] = args.timeout;
        if (args.max_bytes > 0)
            body["max_bytes"] = args.max_bytes;
        if (args.max_shrink >= 0)
            body["max_shrink"] = args.max_shrink;
        if (args.max_bad_lines >= 0)
            body["max_bad_lines"] = args.max_bad_lines;
    } else {
        body["prefixes"] = args.prefixes;
        if (!args.file.empty()) {
            auto text = common::read_file(args.file, size_t{256} << 20);
            if (!text)
                return fail(command, text.error().message);
            auto parsed = denylist::parse_feed(text.value());
            if (parsed.bad_lines > 0)
                return usage(command, args.file + ": " + parsed.bad_lines_summary());
            body["text"] = std::move(text.value());
        }
    }
    // The daemon's own check, run here first for a message before anything is sent.
    if (auto spec = denylist::list_spec_from_json(body); !spec)
        return usage(command, spec.error().message);
    return call(context, command, "POST", "/v1/deny/create", body, args.as_json, render_change);
}

void add_deny(CLI::App& app, CliContext& context) {
    CLI::App* deny = app.add_subcommand(
        "deny", "named deny and allow lists of prefixes: static or feeds (docs/deny-lists.md)");
    deny->require_subcommand(1);

    CLI::App* list = deny->add_subcommand("list", "every list: prefixes, drops, refresh state");
    auto list_json = std::make_shared<bool>(false);
    list->add_flag("--json", *list_json, "print the API's JSON document");
    list->callback([&context, list_json] {
        context.action = [&context, list_json] {
            return call(context, "deny list", "GET", "/v1/deny", {}, *list_json, render_deny_lists);
        };
    });

    CLI::App* show = deny->add_subcommand("show", "one list with its prefixes");
    auto show_name = std::make_shared<std::string>();
    auto show_limit = std::make_shared<size_t>(100);
    auto show_json = std::make_shared<bool>(false);
    show->add_option("name", *show_name, "the list")->required();
    show->add_option("--limit", *show_limit, "show at most N prefixes")->capture_default_str();
    show->add_flag("--json", *show_json, "print the API's JSON document");
    show->callback([&context, show_name, show_limit, show_json] {
        context.action = [&context, show_name, show_limit, show_json] {
            return call(context, "deny show", "GET",
                        "/v1/deny/show?name=" + *show_name +
                            "&limit=" + std::to_string(*show_limit),
                        {}, *show_json, render_deny_list);
        };
    });

    CLI::App* create = deny->add_subcommand("create", "a new list: static (--prefix, "
                                                      "--from-file) or a feed (--url)");
    auto args = std::make_shared<CreateArguments>();
    create->add_option("name", args->name, "e.g. tor-exits")->required();
    create->add_option("--prefix", args->prefixes, "a prefix or address (repeatable)");
    create->add_option("--from-file", args->file, "prefixes from a file, one per line");
    create->add_option("--url", args->url,
                       "a feed: http(s)://..., file:///PATH or /PATH, refreshed on --refresh");
    create->add_option("--direction", args->direction, "inbound (default), outbound or both");
    create->add_flag("--allow", args->allow, "an allow list: wins over every deny list");
    create->add_option("--format", args->format, "feed format: auto, lines or tor");
    create->add_option("--refresh", args->refresh, "feed refresh interval (default 1h)");
    create->add_option("--timeout", args->timeout, "feed download timeout (default 30s)");
    create->add_option("--max-bytes", args->max_bytes, "feed size cap (default 64 MiB)");
    create->add_option("--max-shrink", args->max_shrink,
                       "refuse a refresh that drops more than this share (default 0.5)");
    create->add_option("--max-bad-lines", args->max_bad_lines,
                       "refuse a refresh with more bad lines (default 100)");
    create->add_flag("--json", args->as_json, "print the API's JSON document");
    create->callback([&context, args] {
        context.action = [&context, args] { return create_list(context, *args); };
    });

    for (const char* verb : {"add", "remove"}) {
        CLI::App* edit = deny->add_subcommand(verb, std::string(verb) == "add"
                                                        ? "add prefixes to a static list"
                                                        : "remove prefixes from a static list");
        auto name = std::make_shared<std::string>();
        auto prefixes = std::make_shared<std::vector<std::string>>();
        edit->add_option("name", *name, "the list")->required();
        edit->add_option("prefixes", *prefixes, "prefixes or addresses")->required();
        std::string command = std::string("deny ") + verb;
        std::string path = std::string("/v1/deny/") + verb;
        edit->callback([&context, name, prefixes, command, path] {
            context.action = [&context, name, prefixes, command, path] {
                if (!check_prefixes(command, *prefixes))
                    return kExitUsage;
                return call(context, command, "POST", path,
                            {{"name", *name}, {"prefixes", *prefixes}}, false, render_change);
            };
        });
    }

    for (const char* verb : {"delete", "refresh"}) {
        CLI::App* sub = deny->add_subcommand(verb, std::string(verb) == "delete"
                                                       ? "delete a list (its prefixes stop acting)"
                                                       : "download a feed now and apply it if it "
                                                         "passes the checks");
        auto name = std::make_shared<std::string>();
        auto as_json = std::make_shared<bool>(false);
        sub->add_option("name", *name, "the list")->required();
        sub->add_flag("--json", *as_json, "print the API's JSON document");
        std::string command = std::string("deny ") + verb;
        std::string path = std::string("/v1/deny/") + verb;
        bool refresh = std::string(verb) == "refresh";
        sub->callback([&context, name, as_json, command, path, refresh] {
            context.action = [&context, name, as_json, command, path, refresh] {
                if (auto valid = denylist::validate_list_name(*name); !valid)
                    return usage(command, valid.error().message);
                return call(context, command, "POST", path, {{"name", *name}}, *as_json,
                            refresh ? render_deny_refresh : render_change);
            };
        });
    }
}

void add_entity(CLI::App& app, CliContext& context) {
    CLI::App* entity =
        app.add_subcommand("entity", "named outside networks the model can use like identities "
                                     "(e.g. web -> payments-api 443/tcp)");
    entity->require_subcommand(1);
    CLI::App* list = entity->add_subcommand("list", "every entity and its prefixes");
    auto as_json = std::make_shared<bool>(false);
    list->add_flag("--json", *as_json, "print the API's JSON document");
    list->callback([&context, as_json] {
        context.action = [&context, as_json] {
            return call(context, "entity list", "GET", "/v1/entities", {}, *as_json,
                        render_entities);
        };
    });
    for (const char* verb : {"add", "remove"}) {
        CLI::App* edit = entity->add_subcommand(
            verb, std::string(verb) == "add"
                      ? "name an outside network: NAME PREFIX... (longest prefix wins)"
                      : "remove prefixes from an entity, or the entity when none are given");
        auto name = std::make_shared<std::string>();
        auto prefixes = std::make_shared<std::vector<std::string>>();
        edit->add_option("name", *name, "the entity, e.g. payments-api")->required();
        auto* option = edit->add_option("prefixes", *prefixes, "prefixes or addresses");
        if (std::string(verb) == "add")
            option->required();
        std::string command = std::string("entity ") + verb;
        std::string path = std::string("/v1/entities/") + verb;
        edit->callback([&context, name, prefixes, command, path] {
            context.action = [&context, name, prefixes, command, path] {
                if (auto valid = common::validate_identity_name(*name); !valid)
                    return usage(command, valid.error().message);
                if (!check_prefixes(command, *prefixes))
                    return kExitUsage;
                return call(context, command, "POST", path,
                            {{"name", *name}, {"prefixes", *prefixes}}, false, render_entities);
            };
        });
    }
}

} // namespace

void add_deny_commands(CLI::App& app, CliContext& context) {
    add_deny(app, context);
    add_entity(app, context);
}

} // namespace flowwall::cli
