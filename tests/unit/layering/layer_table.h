// SPDX-License-Identifier: Apache-2.0
// The layering rules of src/LAYERS and the check of a source tree against them: which folder
// each #include reaches and each library link names, and whether the table allows it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace flowwall::testing {

struct LayerTable {
    // Folder ("identity/docker", "bpf/lib") -> what it may reach besides itself; "*" is any
    // folder of src/.
    std::map<std::string, std::set<std::string>> allowed;

    // Parses src/LAYERS; errors (a line with no folder, a folder twice) go to `errors`.
    static LayerTable parse(std::string_view text, std::vector<std::string>& errors);

    bool allows(const std::string& from, const std::string& to) const;
};

// A wrong arrow, said so that the reader knows what to change.
struct Violation {
    std::string file;   // relative to the tree: "src/web/metrics.cc"
    std::string target; // the include or library as written
    std::string message;
};

// The folder an #include "..." of `file` (relative: "src/web/metrics.cc") reaches: "datapath"
// for "src/datapath/x.h", "abi" for "flowwall/abi.h", "skeletons" for "*.skel.h", "tests" for
// "tests/...", "bpf/lib" for "lib/maps.h" from bpf/ (and "maps.h" from bpf/lib/). nullopt for
// a relative include that names no file of the tree (the caller reports it).
std::optional<std::string> include_target(const std::filesystem::path& root,
                                          const std::string& file, const std::string& include);

// The folder of a file of the tree: "identity/docker" for "src/identity/docker/x.cc", "bpf/lib"
// for "bpf/lib/x.h".
std::string folder_of(const std::string& file);

// The folder a library of the project stands for ("flowwall::datapath" -> "datapath",
// "flowwall::identity_docker" -> "identity/docker", "flowwall::bpf::firewall" -> "skeletons");
// nullopt for what is no folder's (flowwall_warnings, outside libraries).
std::optional<std::string> library_folder(std::string_view library);

// Every #include "..." of src/ and bpf/ and every flowwall library linked in
// src/**/CMakeLists.txt, checked against `table`.
std::vector<Violation> check_tree(const std::filesystem::path& root, const LayerTable& table);

} // namespace flowwall::testing
