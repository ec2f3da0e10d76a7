// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/layering/layer_table.h"

#include <fstream>
#include <regex>
#include <sstream>

namespace flowwall::testing {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool is_source(const fs::path& path) {
    auto extension = path.extension();
    return extension == ".h" || extension == ".cc" || extension == ".c";
}

// "src/identity/docker/x.cc" -> "src/identity/docker"
std::string parent_of(const std::string& file) {
    return fs::path(file).parent_path().generic_string();
}

std::string without_prefix(std::string_view text, std::string_view prefix) {
    return std::string(text.substr(prefix.size()));
}

} // namespace

LayerTable LayerTable::parse(std::string_view text, std::vector<std::string>& errors) {
    LayerTable table;
    std::istringstream lines{std::string(text)};
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (auto hash = line.find('#'); hash != std::string::npos)
            line.resize(hash);
        std::istringstream words(line);
        std::string folder;
        if (!(words >> folder))
            continue;
        if (table.allowed.count(folder)) {
            errors.push_back("src/LAYERS line " + std::to_string(number) + ": " + folder +
                             " is listed twice");
            continue;
        }
        auto& targets = table.allowed[folder];
        for (std::string target; words >> target;)
            targets.insert(target);
    }
    return table;
}

bool LayerTable::allows(const std::string& from, const std::string& to) const {
    if (from == to)
        return true;
    auto found = allowed.find(from);
    if (found == allowed.end())
        return false;
    bool to_src_folder = to != "abi" && to != "skeletons" && to != "protos" && to != "tests" &&
                         !to.starts_with("bpf");
    return found->second.count(to) || (found->second.count("*") && to_src_folder);
}

std::string folder_of(const std::string& file) {
    std::string parent = parent_of(file);
    return parent.starts_with("src/") ? without_prefix(parent, "src/") : parent;
}

std::optional<std::string> include_target(const fs::path& root, const std::string& file,
                                          const std::string& include) {
    if (include.starts_with("src/"))
        return without_prefix(parent_of(include), "src/");
    if (include.starts_with("flowwall/"))
        return "abi";
    if (include.starts_with("tests/"))
        return "tests";
    if (include.ends_with(".skel.h"))
        return "skeletons";
    if (include.ends_with(".pb.h")) // cri_api.pb.h, cri_api.grpc.pb.h
        return "protos";
    // Relative to the including file, as the BPF programs write theirs ("lib/maps.h").
    std::string relative =
        (fs::path(parent_of(file)) / include).lexically_normal().generic_string();
    if (!fs::exists(root / relative))
        return std::nullopt;
    return folder_of(relative);
}

std::optional<std::string> library_folder(std::string_view library) {
    if (library.starts_with("flowwall::bpf::"))
        return "skeletons";
    // Stubs generated from .proto files (cmake/FlowwallGrpc.cmake) include nothing of the
    // project: like an outside library, any folder may link them.
    if (library.starts_with("flowwall::grpc::"))
        return std::nullopt;
    std::string name;
    if (library.starts_with("flowwall::"))
        name = without_prefix(library, "flowwall::");
    else if (library.starts_with("flowwall_"))
        name = without_prefix(library, "flowwall_");
    else
        return std::nullopt;
    if (name == "warnings" || name == "radar_npm")
        return std::nullopt;
    if (name == "cli_render")
        return "cli";
    if (auto underscore = name.find('_'); underscore != std::string::npos)
        name[underscore] = '/'; // identity_docker -> identity/docker
    return name;
}

std::vector<Violation> check_tree(const fs::path& root, const LayerTable& table) {
    std::vector<Violation> violations;
    static const std::regex kInclude(R"re(^\s*#\s*include\s+"([^"]+)")re");
    for (const char* top : {"src", "bpf"}) {
        if (!fs::is_directory(root / top))
            continue;
        for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
            if (!entry.is_regular_file())
                continue;
            std::string file = fs::relative(entry.path(), root).generic_string();
            std::string from = folder_of(file);
            if (entry.path().filename() == "CMakeLists.txt")
                continue; // below
            if (!is_source(entry.path()))
                continue;
            if (!table.allowed.count(from)) {
                violations.push_back({file, "",
                                      from + " has no line in src/LAYERS: add the "
                                             "folder with what it may include"});
                continue;
            }
            std::istringstream lines(read_text(entry.path()));
            std::string line;
            std::smatch match;
            while (std::getline(lines, line)) {
                if (!std::regex_search(line, match, kInclude))
                    continue;
                std::string include = match[1];
                auto to = include_target(root, file, include);
                if (!to)
                    violations.push_back(
                        {file, include,
                         "includes \"" + include + "\", which is no file of the tree"});
                else if (!table.allows(from, *to))
                    violations.push_back(
                        {file, include,
                         from + " may not include " + *to + " (\"" + include +
                             "\"): src/LAYERS allows " + from +
                             " to reach only what its line "
                             "lists; move the code, or give it a seam in the right direction"});
            }
        }
    }

    // A library links only the libraries of the folders its folder may include.
    static const std::regex kLink(R"re(target_link_libraries\s*\(\s*(\S+)([^)]*)\))re");
    static const std::regex kLibrary(R"re(flowwall(::[A-Za-z0-9_:]+|_[A-Za-z0-9_]+))re");
    if (!fs::is_directory(root / "src"))
        return violations;
    for (const auto& entry : fs::recursive_directory_iterator(root / "src")) {
        if (entry.path().filename() != "CMakeLists.txt")
            continue;
        std::string file = fs::relative(entry.path(), root).generic_string();
        std::string text = read_text(entry.path());
        for (std::sregex_iterator link(text.begin(), text.end(), kLink), end; link != end; ++link) {
            auto from = library_folder((*link)[1].str());
            if (!from)
                continue;
            std::string arguments = (*link)[2];
            for (std::sregex_iterator library(arguments.begin(), arguments.end(), kLibrary);
                 library != std::sregex_iterator(); ++library) {
                auto to = library_folder(library->str());
                if (to && !table.allows(*from, *to))
                    violations.push_back({file, library->str(),
                                          (*link)[1].str() + " links " + library->str() +
                                              ", but src/LAYERS does not let " + *from + " reach " +
                                              *to});
            }
        }
    }
    return violations;
}

} // namespace flowwall::testing
