// SPDX-License-Identifier: Apache-2.0
#include "src/common/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/temp_dir.h"

namespace flowwall::common {
namespace {

using testing::TempDir;

size_t entries_in(const std::filesystem::path& dir) {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(WriteFileAtomically, WritesTheContentWithTheMode) {
    TempDir dir;
    auto file = dir / "state.json";
    ASSERT_TRUE(write_file_atomically(file, "{\"a\": 1}\n", 0600).ok());
    EXPECT_EQ(TempDir::read(file), "{\"a\": 1}\n");
    struct stat info {};
    ASSERT_EQ(::stat(file.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    // No temporary file left behind, and no .prev unless asked for.
    EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(WriteFileAtomically, KeepsThePreviousVersionWhenAsked) {
    TempDir dir;
    auto file = dir / "model.json";
    ASSERT_TRUE(write_file_atomically(file, "one", 0644, true).ok());
    EXPECT_FALSE(std::filesystem::exists(previous_version_path(file)));
    ASSERT_TRUE(write_file_atomically(file, "two", 0644, true).ok());
    ASSERT_TRUE(write_file_atomically(file, "three", 0644, true).ok());
    EXPECT_EQ(TempDir::read(file), "three");
    EXPECT_EQ(TempDir::read(dir / "model.json.prev"), "two");
    EXPECT_EQ(entries_in(dir.path()), 2u);

    ASSERT_TRUE(write_file_atomically(file, "four").ok());
    EXPECT_EQ(TempDir::read(dir / "model.json.prev"), "two"); // untouched without the flag
}

TEST(WriteFileAtomically, ReplacesEmptyAndLargeContent) {
    TempDir dir;
    auto file = dir / "f";
    std::string large(1 << 20, 'x');
    ASSERT_TRUE(write_file_atomically(file, large).ok());
    EXPECT_EQ(TempDir::read(file), large);
    ASSERT_TRUE(write_file_atomically(file, "").ok());
    EXPECT_EQ(TempDir::read(file), "");
}

TEST(WriteFileAtomically, AMissingDirectoryIsAnErrorNamingIt) {
    TempDir dir;
    auto status = write_file_atomically(dir / "absent" / "f", "x");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().errnum, ENOENT);
    EXPECT_NE(status.error().message.find((dir / "absent").string()), std::string::npos);
}

// The errno of write_file_atomically() run by a user who may not write into the directory:
// root may write anywhere, so as root the attempt runs in a child that became `nobody`.
int failed_write_errno(const std::filesystem::path& file) {
    if (::geteuid() != 0) {
        auto status = write_file_atomically(file, "new", 0644, true);
        return status.ok() ? 0 : status.error().errnum;
    }
    pid_t child = ::fork();
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(255);
        auto status = write_file_atomically(file, "new", 0644, true);
        ::_exit(status.ok() ? 0 : status.error().errnum);
    }
    int wait_status = 0;
    ::waitpid(child, &wait_status, 0);
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 255;
}

TEST(WriteFileAtomically, AFailureLeavesTheOldFileAndNoTemporary) {
    TempDir dir;
    auto file = dir / "f";
    ASSERT_TRUE(write_file_atomically(file, "old").ok());
    ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0); // readable and searchable, not writable
    int errnum = failed_write_errno(file);
    ::chmod(dir.path().c_str(), 0700);
    EXPECT_EQ(errnum, EACCES);
    EXPECT_EQ(TempDir::read(file), "old");
    EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(WriteFileAtomically, ADirectoryInTheWayIsAnErrorAndNothingIsLeftBehind) {
    TempDir dir;
    auto file = dir / "f";
    std::filesystem::create_directories(file / "inside");
    for (bool keep_previous : {false, true}) {
        auto status = write_file_atomically(file, "new", 0644, keep_previous);
        ASSERT_FALSE(status.ok()) << keep_previous;
        EXPECT_NE(status.error().message.find(file.string()), std::string::npos)
            << status.error().message;
        EXPECT_TRUE(std::filesystem::is_directory(file / "inside"));
        EXPECT_EQ(entries_in(dir.path()), 1u) << keep_previous;
    }
}

TEST(ReadFile, ReadsTheWholeFile) {
    TempDir dir;
    TempDir::write(dir / "f", std::string("a\0b", 3));
    auto content = read_file(dir / "f", 3);
    ASSERT_TRUE(content.ok()) << content.error().to_string();
    EXPECT_EQ(content.value(), std::string("a\0b", 3));
}

TEST(ReadFile, ExplainsWhyItCannotRead) {
    TempDir dir;
    auto missing = read_file(dir / "absent", 100);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().errnum, ENOENT);
    EXPECT_NE(missing.error().message.find((dir / "absent").string()), std::string::npos);

    TempDir::write(dir / "big", std::string(101, 'x'));
    auto big = read_file(dir / "big", 100);
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().errnum, EFBIG);
    EXPECT_NE(big.error().message.find("more than the 100 bytes allowed"), std::string::npos);

    auto directory = read_file(dir.path(), 100);
    ASSERT_FALSE(directory.ok());
    EXPECT_EQ(directory.error().errnum, EISDIR);

    if (::geteuid() != 0) {
        TempDir::write(dir / "secret", "x");
        ASSERT_EQ(::chmod((dir / "secret").c_str(), 0), 0);
        auto denied = read_file(dir / "secret", 100);
        ASSERT_FALSE(denied.ok());
        EXPECT_EQ(denied.error().errnum, EACCES);
        EXPECT_NE(denied.error().message.find("permissions"), std::string::npos);
    }
}

TEST(ReadFile, FilesWithoutASizeAreReadToTheEnd) {
    // /proc files report size 0; the limit must still hold on what is actually read.
    auto content = read_file("/proc/self/status", 1 << 20);
    ASSERT_TRUE(content.ok()) << content.error().to_string();
    EXPECT_NE(content.value().find("Name:"), std::string::npos);
    auto limited = read_file("/proc/self/status", 10);
    ASSERT_FALSE(limited.ok());
    EXPECT_EQ(limited.error().errnum, EFBIG);
}

} // namespace
} // namespace flowwall::common
