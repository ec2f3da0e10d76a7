// SPDX-License-Identifier: Apache-2.0
#include "src/common/identity_name.h"

#include <cerrno>
#include <cstdio>
#include <string>

namespace flowwall::common {
namespace {

constexpr size_t kMaxIdentityNameLength = 200;

bool is_identity_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '/' || c == '@' || c == '-';
}

std::string printable(char c) {
    if (c >= 0x20 && c < 0x7f)
        return std::string("'") + c + "'";
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", static_cast<unsigned char>(c));
    return hex;
}

} // namespace

Status validate_identity_name(std::string_view name) {
    if (name.empty())
        return Error{EINVAL, "identity name is empty"};
    if (name.size() > kMaxIdentityNameLength)
        return Error{EINVAL, "identity name \"" + std::string(name.substr(0, 40)) + "...\" is " +
                                 std::to_string(name.size()) + " characters long; at most " +
                                 std::to_string(kMaxIdentityNameLength) + " are allowed"};
    if (name.front() == '-')
        return Error{EINVAL, "identity name \"" + std::string(name) +
                                 "\" starts with '-' (it would read as an option)"};
    for (size_t i = 0; i < name.size(); ++i) {
        if (!is_identity_char(name[i]))
            return Error{EINVAL, "identity name \"" + std::string(name) + "\" contains " +
                                     printable(name[i]) + " at position " + std::to_string(i) +
                                     ": allowed are letters, digits and . _ : / @ -"};
    }
    return {};
}

} // namespace flowwall::common
