// SPDX-License-Identifier: Apache-2.0
#include "src/config/daemon_config.h"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "flowwall/abi.h"
#include "src/common/atomic_file.h"
#include "src/common/json_in_errors.h"
#include "src/config/config_options.h"

#ifndef FLOWWALL_VERSION
#error "FLOWWALL_VERSION must come from CMake's PROJECT_VERSION"
#endif

namespace flowwall::config {
namespace {

using detail::ConfigOption;
using detail::ValueKind;
using json = nlohmann::json;

// A config file is a few hundred bytes; anything near this is not one.
constexpr size_t kMaxConfigFileBytes = 1u << 20;

// Options that exist only on the command line: they steer this run, not the daemon.
constexpr std::string_view kFlagOnly[] = {"config", "cleanup", "help", "version", "print-config"};

// Options taken out, and why: better than "did you mean" the nearest option still there.
constexpr std::pair<std::string_view, std::string_view> kRemoved[] = {
    {"conntrack-tcp-timeout",
     "was removed: TCP connections are not tracked (a bare SYN is judged, every other TCP "
     "packet passes), so nothing times out; delete it (--conntrack-other-timeout covers UDP "
     "and ICMP)"},
};

std::optional<std::string_view> removed_because(std::string_view name) {
    for (const auto& [removed, why] : kRemoved)
        if (name == removed)
            return why;
    return std::nullopt;
}

// Every error is the one line flowwalld prints, whatever it echoes of the input (an unknown
// option with a newline in it).
Error invalid(std::string message) {
    std::replace_if(
        message.begin(), message.end(), [](unsigned char c) { return c < 0x20; }, '?');
    return Error{EINVAL, std::move(message)};
}

// Command-line text need not be UTF-8; replace what JSON cannot show instead of throwing.
std::string json_quoted(std::string_view text) {
    return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A value the config file cannot hold (JSON is UTF-8) would make --print-config throw.
bool is_utf8(std::string_view text) {
    try {
        (void)json(std::string(text)).dump();
        return true;
    } catch (const json::type_error&) {
        return false;
    }
}

std::vector<std::string_view> option_names(bool with_flag_only) {
    std::vector<std::string_view> names;
    for (const auto& option : detail::config_options())
        names.push_back(option.name);
    if (with_flag_only)
        names.insert(names.end(), std::begin(kFlagOnly), std::end(kFlagOnly));
    return names;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; people need the rest.
std::string without_exception_tag(std::string message) {
    if (!message.empty() && message.front() == '[') {
        if (auto end = message.find("] "); end != std::string::npos)
            message.erase(0, end + 2);
    }
    return message;
}

const char* expected_json(ValueKind kind) {
    switch (kind) {
    case ValueKind::string:
        return "a string";
    case ValueKind::boolean:
        return "true or false";
    case ValueKind::count:
        return "a whole number";
    case ValueKind::duration:
        return "a duration string such as \"30s\"";
    }
    return "a string";
}

// The text the option's setter parses, or nothing when the JSON type is wrong.
std::optional<std::string> text_of(const json& value, ValueKind kind) {
    switch (kind) {
    case ValueKind::string:
        if (value.is_string())
            return value.get<std::string>();
        return std::nullopt;
    case ValueKind::boolean:
        if (value.is_boolean())
            return value.get<bool>() ? "true" : "false";
        return std::nullopt;
    case ValueKind::duration:
        if (value.is_string())
            return value.get<std::string>();
        [[fallthrough]]; // a bare number: the duration parser explains the missing unit
    case ValueKind::count:
        if (value.is_number_unsigned())
            return std::to_string(value.get<uint64_t>());
        if (value.is_number_integer())
            return std::to_string(value.get<int64_t>());
        return std::nullopt;
    }
    return std::nullopt;
}

json json_of(const ConfigOption& option, const DaemonConfig& config) {
    auto text = option.show(config);
    switch (option.kind) {
    case ValueKind::boolean:
        return text == "true";
    case ValueKind::count:
        return std::stoull(text);
    case ValueKind::string:
    case ValueKind::duration:
        return text;
    }
    return text;
}

std::string help_text(const ConfigOption& option) {
    auto shown = option.show(DaemonConfig{});
    return std::string(option.help) + " (default: " + (shown.empty() ? "none" : shown) + ")";
}

// The first argument CLI11 did not recognise, as a one-line error.
Error unexpected_argument(const std::string& argument) {
    auto name_start = argument.find_first_not_of('-');
    if (argument.rfind("-", 0) != 0 || name_start == std::string::npos)
        return invalid("unexpected argument " + json_quoted(argument) +
                       ": flowwalld takes no positional arguments (see --help)");
    auto name = argument.substr(name_start);
    name = name.substr(0, name.find('='));
    if (auto why = removed_because(name))
        return invalid("--" + name + " " + std::string(*why));
    auto names = option_names(true);
    auto closest = detail::closest_name(name, names);
    return invalid(argument.substr(0, argument.find('=')) + ": unknown option" +
                   (closest ? "; did you mean --" + std::string(*closest) + "?" : "") +
                   " (see --help)");
}

} // namespace

Status apply_config_json(std::string_view json_text, const std::string& origin,
                         DaemonConfig& config) {
    json document;
    try {
        document = json::parse(json_text);
    } catch (const json::exception& e) { // parse_error, and out_of_range for 1e999
        return invalid(origin + ": not valid JSON: " + without_exception_tag(e.what()));
    }
    if (!document.is_object())
        return invalid(origin +
                       ": the top level must be a JSON object {\"key\": value, ...}, "
                       "not " +
                       std::string(document.type_name()));

    // Applied to a copy: a file with one bad key changes nothing.
    DaemonConfig updated = config;
    auto keys = option_names(false);
    for (const auto& [key, value] : document.items()) {
        std::string where = origin + ": key " + json_quoted(key) + ": ";
        const ConfigOption* option = detail::find_option(key);
        if (option == nullptr) {
            if (auto why = removed_because(key))
                return invalid(where + std::string(*why));
            bool flag_only =
                std::find(std::begin(kFlagOnly), std::end(kFlagOnly), key) != std::end(kFlagOnly);
            if (flag_only)
                return invalid(where + "--" + key + " exists on the command line only");
            if (auto closest = detail::closest_name(key, keys))
                return invalid(where + "unknown key; did you mean " + json_quoted(*closest) + "?");
            std::string known;
            for (auto name : keys)
                known += (known.empty() ? "" : ", ") + std::string(name);
            return invalid(where + "unknown key; the keys are " + known);
        }
        auto text = text_of(value, option->kind);
        if (!text)
            return invalid(where + "value " + common::shown_in_error(value) + " is " +
                           std::string(value.type_name()) + ", expected " +
                           expected_json(option->kind));
        if (auto status = option->set(updated, *text); !status)
            return invalid(where + "value " + value.dump() + " " + status.error().message);
    }
    config = std::move(updated);
    return {};
}

std::string config_to_json(const DaemonConfig& config) {
    auto document = nlohmann::ordered_json::object();
    for (const auto& option : detail::config_options())
        document[std::string(option.name)] = json_of(option, config);
    return document.dump(2);
}

Result<CommandLineOutcome> load_daemon_config(const std::vector<std::string>& args) {
    CLI::App app{"flowwalld: node-resident container firewall. Every option can also be set "
                 "in the config file, as \"name\": value.",
                 "flowwalld"};
    // Unknown options are collected, not thrown, so the error can suggest the closest one.
    app.allow_extras();
    app.set_help_flag("--help,-h", "Print this help and exit");
    std::string config_path;
    auto* config_flag =
        app.add_option("--config", config_path,
                       "JSON config file (default: " + DaemonConfig{}.config_file.string() +
                           "; may be absent)")
            ->type_name("PATH")
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    bool cleanup = false, version = false, print_config = false;
    app.add_flag("--cleanup", cleanup, "Remove everything flowwall pinned and attached, then exit");
    app.add_flag("--version", version, "Print the version and exit");
    app.add_flag("--print-config", print_config,
                 "Print the effective configuration as a config file and exit");

    auto options = detail::config_options();
    std::vector<std::string> values(options.size());
    std::vector<CLI::Option*> flags(options.size());
    for (size_t i = 0; i < options.size(); ++i) {
        flags[i] =
            app.add_option("--" + std::string(options[i].name), values[i], help_text(options[i]))
                ->type_name(std::string(options[i].value_name))
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }

    std::vector<std::string> reversed(args.rbegin(), args.rend()); // CLI11 pops from the back
    try {
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        return CommandLineOutcome{.exit_now = true, .text = app.help()};
    } catch (const CLI::ParseError& e) {
        return invalid(std::string(e.what()) + " (see --help)");
    }
    if (auto extras = app.remaining(); !extras.empty())
        return unexpected_argument(extras.front());
    if (version)
        return CommandLineOutcome{.exit_now = true,
                                  .text = std::string("flowwalld ") + FLOWWALL_VERSION + "\n"};

    CommandLineOutcome outcome;
    DaemonConfig& config = outcome.config;
    bool config_given = config_flag->count() > 0;
    if (config_given) {
        if (config_path.empty())
            return invalid("--config: value \"\" is not a path");
        config.config_file = config_path;
    }
    auto text = common::read_file(config.config_file, kMaxConfigFileBytes);
    if (!text) {
        bool missing = text.error().errnum == ENOENT;
        if (missing && config_given)
            return invalid("--config " + config.config_file.string() +
                           ": the file does not exist (leave --config out to run on defaults)");
        if (!missing)
            return invalid("config file " + config.config_file.string() + ": " +
                           text.error().to_string());
    } else if (auto status = apply_config_json(
                   text.value(), "config file " + config.config_file.string(), config);
               !status) {
        return status.error();
    }

    // The command line goes last: it overrides the file.
    for (size_t i = 0; i < options.size(); ++i) {
        if (flags[i]->count() == 0)
            continue;
        if (!is_utf8(values[i]))
            return invalid("--" + std::string(options[i].name) + ": value " +
                           json_quoted(values[i]) + " is not UTF-8 text");
        if (auto status = options[i].set(config, values[i]); !status)
            return invalid("--" + std::string(options[i].name) + ": value " +
                           json_quoted(values[i]) + " " + status.error().message);
    }
    config.cleanup = cleanup;

    if (print_config) {
        outcome.exit_now = true;
        outcome.text = config_to_json(config) + "\n";
    }
    return outcome;
}

const char* fail_mode_name(FailMode mode) {
    return mode == FailMode::closed ? "closed" : "open";
}

uint32_t settings_flags(const DaemonConfig& config) {
    return config.fail_mode == FailMode::closed ? FW_SETTINGS_F_FAIL_CLOSED : 0u;
}

} // namespace flowwall::config
