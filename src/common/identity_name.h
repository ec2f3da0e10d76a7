// SPDX-License-Identifier: Apache-2.0
// What an identity name is, wherever one is written or read: discovery derives names, the model
// and the learning state store flows and windows by name, the CLI and the API take names from
// people. Names are the contract between nodes (DESIGN.md, Identities), so the rule lives here,
// in the vocabulary, and nothing needs the identity sources to check one.
#pragma once

#include <string_view>

#include "src/common/result.h"

namespace flowwall::common {

// Reserved identity names; their numeric ids are fixed (abi.h FW_ID_*).
inline constexpr std::string_view kUnknownIdentity = "unknown";
inline constexpr std::string_view kHostIdentity = "host";
inline constexpr std::string_view kWorldIdentity = "world";

// Identity names users may write (endpoints file, CLI): 1..200 chars of [A-Za-z0-9._:/@-],
// not starting with '-' ; the error says what was wrong.
Status validate_identity_name(std::string_view name);

} // namespace flowwall::common
