// SPDX-License-Identifier: Apache-2.0
// The one table of flowwalld's options. Each entry is both a long flag (--name VALUE) and a
// key of the config file ("name"), so the two can never drift apart.
//
// Internal to flowwall_config. Reasons returned by the setters are verb phrases without the
// value ("is not an absolute path"), so that the caller can say where the value came from
// and show it as it was written: `--socket: value "run/x" is not an absolute path`.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "src/config/daemon_config.h"

namespace flowwall::config::detail {

// What JSON value an option takes in the config file.
enum class ValueKind {
    string,   // JSON string
    boolean,  // JSON true/false
    count,    // JSON whole number
    duration, // JSON string ("30s"); a bare number reaches the parser so it can say "no unit"
};

struct ConfigOption {
    std::string_view name;
    std::string_view value_name; // shown in --help: PATH, DURATION...
    std::string_view help;
    ValueKind kind;
    Status (*set)(DaemonConfig& config, std::string_view text);
    std::string (*show)(const DaemonConfig& config);
};

std::span<const ConfigOption> config_options();
const ConfigOption* find_option(std::string_view name);

// Among `candidates`, the one closest to `name` by edit distance, if close enough to be
// what was meant; "did you mean" with an unrelated name only adds noise.
std::optional<std::string_view> closest_name(std::string_view name,
                                             std::span<const std::string_view> candidates);

} // namespace flowwall::config::detail
