// SPDX-License-Identifier: Apache-2.0
// Dependencies point one way (docs/architecture.md, "Folders and arrows"): the tree is held to
// src/LAYERS, and the checker itself is shown to catch what it must on a tree made for it.
#include "tests/support/temp_dir.h"
#include "tests/unit/layering/layer_table.h"

#include <gtest/gtest.h>

#include <fstream>
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

LayerTable table_from(const std::string& text) {
    std::vector<std::string> errors;
    LayerTable table = LayerTable::parse(text, errors);
    EXPECT_TRUE(errors.empty()) << errors.front();
    return table;
}

std::string describe(const std::vector<Violation>& violations) {
    std::string text;
    for (const auto& violation : violations)
        text += "\n  " + violation.file + ": " + violation.message;
    return text;
}

TEST(Layering, TheTreeKeepsTheTable) {
    fs::path root = FLOWWALL_SOURCE_DIR;
    std::vector<std::string> errors;
    LayerTable table = LayerTable::parse(read_text(root / "src/LAYERS"), errors);
    ASSERT_TRUE(errors.empty()) << errors.front();
    ASSERT_FALSE(table.allowed.empty()) << "src/LAYERS lists no folder";
    auto violations = check_tree(root, table);
    EXPECT_TRUE(violations.empty())
        << violations.size() << " wrong arrows:" << describe(violations);
}

TEST(Layering, ArchitectureDocShowsTheSameTable) {
    fs::path root = FLOWWALL_SOURCE_DIR;
    std::string doc = read_text(root / "docs/architecture.md");
    auto begin = doc.find("<!-- layers: begin");
    auto end = doc.find("<!-- layers: end -->");
    ASSERT_NE(begin, std::string::npos) << "docs/architecture.md lost its layers block";
    ASSERT_NE(end, std::string::npos);
    std::string block = doc.substr(begin, end - begin);
    block = block.substr(block.find('\n') + 1); // the marker line
    for (auto fence = block.find("```"); fence != std::string::npos; fence = block.find("```"))
        block.erase(fence, block.find('\n', fence) - fence);
    std::vector<std::string> errors;
    auto shown = LayerTable::parse(block, errors);
    auto kept = LayerTable::parse(read_text(root / "src/LAYERS"), errors);
    ASSERT_TRUE(errors.empty()) << errors.front();
    EXPECT_EQ(shown.allowed, kept.allowed)
        << "docs/architecture.md's table differs from src/LAYERS: copy the file's lines there";
}

// A small tree with one of each kind of mistake: the check must name the file and the include.
class LayeringCheck : public ::testing::Test {
protected:
    void write(const std::string& file, const std::string& text) {
        fs::create_directories((dir_ / file).parent_path());
        TempDir::write(dir_ / file, text);
    }
    TempDir dir_;
};

TEST_F(LayeringCheck, NamesTheFileAndTheForbiddenInclude) {
    write("src/common/result.h", "#pragma once\n");
    write("src/datapath/typed_map.h",
          "#include \"src/common/result.h\"\n#include \"flowwall/abi.h\"\n");
    write("src/web/metrics.cc", "#include \"src/common/result.h\"\n"
                                "#include \"src/datapath/typed_map.h\"\n");
    write("bpf/lib/maps.h", "#include \"flowwall/abi.h\"\n");
    write("bpf/firewall.bpf.c", "#include \"lib/maps.h\"\n");
    auto table = table_from("common\ndatapath common abi\nweb common\nbpf bpf/lib abi\n"
                            "bpf/lib abi\n");

    auto violations = check_tree(dir_.path(), table);
    ASSERT_EQ(violations.size(), 1u) << describe(violations);
    EXPECT_EQ(violations[0].file, "src/web/metrics.cc");
    EXPECT_EQ(violations[0].target, "src/datapath/typed_map.h");
    EXPECT_NE(violations[0].message.find("web may not include datapath"), std::string::npos)
        << violations[0].message;
}

TEST_F(LayeringCheck, CatchesAFolderTheTableForgotAndIncludesOfNothing) {
    write("src/common/result.h", "#include \"missing.h\"\n");
    write("src/cluster/store.cc", "#include \"src/common/result.h\"\n");
    write("bpf/firewall.bpf.c", "#include \"flowwall/abi.h\"\n");
    auto violations = check_tree(dir_.path(), table_from("common\nbpf abi\n"));
    std::string text = describe(violations);
    EXPECT_NE(text.find("src/cluster/store.cc: cluster has no line in src/LAYERS"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("src/common/result.h: includes \"missing.h\", which is no file"),
              std::string::npos)
        << text;
}

TEST_F(LayeringCheck, BpfProgramsReachOnlyTheAbi) {
    write("bpf/lib/maps.h", "#include \"flowwall/abi.h\"\n#include \"src/common/result.h\"\n");
    write("src/common/result.h", "#pragma once\n");
    auto violations = check_tree(dir_.path(), table_from("common\nbpf bpf/lib abi\nbpf/lib abi\n"));
    ASSERT_EQ(violations.size(), 1u) << describe(violations);
    EXPECT_EQ(violations[0].file, "bpf/lib/maps.h");
    EXPECT_NE(violations[0].message.find("bpf/lib may not include common"), std::string::npos);
}

TEST_F(LayeringCheck, LibrariesLinkOnlyWhatTheirFolderMayInclude) {
    write("src/common/CMakeLists.txt", "add_library(flowwall_common STATIC result.cc)\n");
    write("src/web/CMakeLists.txt", "target_link_libraries(flowwall_web PUBLIC flowwall::common\n"
                                    "  PRIVATE flowwall::datapath flowwall_warnings)\n");
    auto violations = check_tree(dir_.path(), table_from("common\nweb common\ndatapath common\n"));
    ASSERT_EQ(violations.size(), 1u) << describe(violations);
    EXPECT_EQ(violations[0].file, "src/web/CMakeLists.txt");
    EXPECT_EQ(violations[0].target, "flowwall::datapath");
}

TEST(LayerTable, StarMeansAnyFolderOfSrcButNeverTests) {
    auto table = table_from("daemon *\n");
    EXPECT_TRUE(table.allows("daemon", "datapath"));
    EXPECT_TRUE(table.allows("daemon", "identity/docker"));
    EXPECT_FALSE(table.allows("daemon", "tests"));
    EXPECT_TRUE(table.allows("cli", "cli")) << "a folder always reaches itself";
    EXPECT_FALSE(table.allows("cli", "api")) << "a folder the table does not list reaches nothing";
}

TEST(LayerTable, SaysWhenAFolderIsListedTwice) {
    std::vector<std::string> errors;
    LayerTable::parse("web common\n# comment\nweb api\n", errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("line 3: web is listed twice"), std::string::npos) << errors[0];
}

} // namespace
} // namespace flowwall::testing
