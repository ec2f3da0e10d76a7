// SPDX-License-Identifier: Apache-2.0
// The audit log on real files in a temporary directory.
#include "src/audit/audit_log.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"
#include "tests/unit/audit/audit_test_support.h"

namespace flowwall::audit {
namespace {

using flowwall::testing::TempDir;
using testing::numbered_record;
namespace fs = std::filesystem;

// Every line of `file`, each checked to be a whole record: a file that does not end in a
// newline holds a torn line.
std::vector<AuditRecord> read_records(const fs::path& file) {
    std::string content = TempDir::read(file);
    std::vector<AuditRecord> records;
    if (content.empty())
        return records;
    EXPECT_EQ(content.back(), '\n') << file << " ends in a partial line";
    size_t start = 0;
    while (start < content.size()) {
        size_t end = content.find('\n', start);
        if (end == std::string::npos)
            end = content.size();
        auto json = nlohmann::json::parse(content.substr(start, end - start), nullptr, false);
        EXPECT_FALSE(json.is_discarded()) << file << ": " << content.substr(start, end - start);
        auto record = from_json(json);
        EXPECT_TRUE(record) << file << ": " << content.substr(start, end - start);
        if (record)
            records.push_back(record.value());
        start = end + 1;
    }
    return records;
}

mode_t permissions(const fs::path& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
}

mode_t current_umask() {
    mode_t mask = ::umask(0);
    ::umask(mask);
    return mask;
}

std::unique_ptr<AuditLog> open_log(const fs::path& path, uint64_t max_bytes = 1 << 20,
                                   unsigned keep = 5) {
    auto log = AuditLog::open(path, max_bytes, keep);
    EXPECT_TRUE(log) << log.error().to_string();
    return log ? std::move(log).value() : nullptr;
}

TEST(AuditLog, CreatesItsDirectoryAndAppendsOneLinePerRecord) {
    TempDir dir;
    auto path = dir / "var/log/flowwall/audit.jsonl";
    auto log = open_log(path);
    ASSERT_TRUE(log);
    EXPECT_EQ(permissions(dir / "var/log/flowwall"), 0750 & ~current_umask());
    EXPECT_EQ(permissions(path), 0640 & ~current_umask());
    EXPECT_EQ(permissions(dir.path()), 0700); // mkdtemp's; existing directories are left alone

    for (uint64_t n = 0; n < 3; ++n)
        ASSERT_TRUE(log->append(numbered_record(n)));
    EXPECT_EQ(log->records_written(), 3u);
    EXPECT_EQ(log->write_errors(), 0u);
    auto records = read_records(path);
    ASSERT_EQ(records.size(), 3u);
    for (uint64_t n = 0; n < 3; ++n)
        EXPECT_EQ(records[n], numbered_record(n));
}

TEST(AuditLog, AppendsToWhatIsAlreadyThere) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    ASSERT_TRUE(open_log(path)->append(numbered_record(0)));
    auto log = open_log(path); // a daemon restart
    ASSERT_TRUE(log->append(numbered_record(1)));
    auto records = read_records(path);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0], numbered_record(0));
    EXPECT_EQ(records[1], numbered_record(1));
}

TEST(AuditLog, RefusesWhatCannotBeALog) {
    TempDir dir;
    auto result = AuditLog::open(dir.path());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().errnum, EISDIR);
    EXPECT_NE(result.error().message.find(dir.path().string()), std::string::npos);

    TempDir::write(dir / "file", "x");
    result = AuditLog::open(dir / "file/audit.jsonl");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().errnum, ENOTDIR);

    EXPECT_FALSE(AuditLog::open(""));
    EXPECT_FALSE(AuditLog::open(dir / "audit.jsonl", 0));
}

TEST(AuditLog, RotatesBySizeKeepingTheNewestFiles) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    const size_t line = to_json_line(numbered_record(10)).size();
    const uint64_t max_bytes = 3 * line + line / 2; // three lines a file
    auto log = open_log(path, max_bytes, 3);
    ASSERT_TRUE(log);
    const uint64_t total = 40;
    for (uint64_t n = 10; n < 10 + total; ++n)
        ASSERT_TRUE(log->append(numbered_record(n)));

    EXPECT_EQ(log->records_written(), total);
    EXPECT_GT(log->rotations(), 3u);
    for (unsigned n = 1; n <= 3; ++n)
        EXPECT_TRUE(fs::exists(AuditLog::rotated_path(path, n))) << n;
    EXPECT_FALSE(fs::exists(AuditLog::rotated_path(path, 4)));

    // Oldest file first: the newest records, consecutive, none split across files.
    std::vector<AuditRecord> kept;
    for (auto file : {AuditLog::rotated_path(path, 3), AuditLog::rotated_path(path, 2),
                      AuditLog::rotated_path(path, 1), path}) {
        EXPECT_LE(fs::file_size(file), max_bytes) << file;
        auto records = read_records(file);
        EXPECT_FALSE(records.empty()) << file;
        kept.insert(kept.end(), records.begin(), records.end());
    }
    ASSERT_GE(kept.size(), 10u);
    ASSERT_LT(kept.size(), total);
    uint64_t first = 10 + total - kept.size();
    for (size_t i = 0; i < kept.size(); ++i)
        EXPECT_EQ(kept[i], numbered_record(first + i)) << i;
}

TEST(AuditLog, KeepZeroStartsOver) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    const size_t line = to_json_line(numbered_record(10)).size();
    auto log = open_log(path, 2 * line, 0);
    for (uint64_t n = 10; n < 15; ++n)
        ASSERT_TRUE(log->append(numbered_record(n)));
    EXPECT_FALSE(fs::exists(AuditLog::rotated_path(path, 1)));
    auto records = read_records(path);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0], numbered_record(14));
}

TEST(AuditLog, ARecordLargerThanTheLimitIsStillWritten) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    auto log = open_log(path, 100, 2);
    ASSERT_TRUE(log->append(numbered_record(1)));
    ASSERT_TRUE(log->append(numbered_record(2)));
    EXPECT_EQ(read_records(path), std::vector<AuditRecord>{numbered_record(2)});
    EXPECT_EQ(read_records(AuditLog::rotated_path(path, 1)),
              std::vector<AuditRecord>{numbered_record(1)});
}

TEST(AuditLog, ConcurrentAppendsKeepLinesWhole) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    auto log = open_log(path, 16 * 1024, 1000);
    constexpr int kThreads = 4;
    constexpr uint64_t kEach = 500;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (uint64_t i = 0; i < kEach; ++i) {
                auto record = numbered_record(i);
                record.node = "thread-" + std::to_string(t);
                EXPECT_TRUE(log->append(record));
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(log->records_written(), kThreads * kEach);

    std::vector<fs::path> files;
    for (unsigned n = static_cast<unsigned>(log->rotations()); n >= 1; --n)
        files.push_back(AuditLog::rotated_path(path, n));
    files.push_back(path);
    std::vector<uint64_t> next(kThreads, 0);
    uint64_t lines = 0;
    for (const auto& file : files) {
        for (const auto& record : read_records(file)) {
            ++lines;
            int t = std::stoi(record.node.substr(7));
            ASSERT_LT(t, kThreads);
            // Each thread's records appear in the order it appended them.
            EXPECT_EQ(record, [&] {
                auto expected = numbered_record(next[t]++);
                expected.node = record.node;
                return expected;
            }());
        }
    }
    EXPECT_EQ(lines, kThreads * kEach);
}

// /dev/full fails every write with ENOSPC: a full disk, as any user, without a mount.
TEST(AuditLog, AWriteErrorIsReturnedAndTheLogRecovers) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    fs::create_symlink("/dev/full", path);
    auto log = open_log(path);
    ASSERT_TRUE(log);

    auto status = log->append(numbered_record(1));
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().errnum, ENOSPC);
    EXPECT_NE(status.error().message.find(path.string()), std::string::npos);
    EXPECT_FALSE(log->append(numbered_record(2)));
    EXPECT_EQ(log->write_errors(), 2u);
    EXPECT_EQ(log->records_written(), 0u);

    // Space is back: the path now leads to a writable file.
    TempDir::write(dir / "real.jsonl", "");
    fs::create_symlink(dir / "real.jsonl", dir / "new-link");
    fs::rename(dir / "new-link", path);
    ASSERT_TRUE(log->append(numbered_record(3)));
    EXPECT_EQ(log->records_written(), 1u);
    EXPECT_EQ(read_records(dir / "real.jsonl"), std::vector<AuditRecord>{numbered_record(3)});
}

TEST(AuditLog, FollowsTheFileWhenItIsMovedOrDeleted) {
    TempDir dir;
    auto path = dir / "logs/audit.jsonl";
    auto log = open_log(path);
    ASSERT_TRUE(log->append(numbered_record(1)));

    fs::rename(path, dir / "logs/moved.jsonl"); // logrotate without copytruncate
    ASSERT_TRUE(log->append(numbered_record(2)));
    EXPECT_EQ(read_records(dir / "logs/moved.jsonl"), std::vector<AuditRecord>{numbered_record(1)});
    EXPECT_EQ(read_records(path), std::vector<AuditRecord>{numbered_record(2)});

    fs::remove_all(dir / "logs"); // an admin cleaning up
    ASSERT_TRUE(log->append(numbered_record(3)));
    EXPECT_EQ(read_records(path), std::vector<AuditRecord>{numbered_record(3)});
    EXPECT_EQ(log->write_errors(), 0u);
}

TEST(AuditLog, ADirectoryInTheWayIsAnErrorUntilItGoes) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    auto log = open_log(path);
    fs::remove(path);
    fs::create_directory(path);
    auto status = log->append(numbered_record(1));
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().errnum, EISDIR);
    EXPECT_EQ(log->write_errors(), 1u);
    fs::remove(path);
    ASSERT_TRUE(log->append(numbered_record(2)));
    EXPECT_EQ(read_records(path), std::vector<AuditRecord>{numbered_record(2)});
}

TEST(AuditLog, ATruncatedFileIsMeasuredAgain) {
    TempDir dir;
    auto path = dir / "audit.jsonl";
    const size_t line = to_json_line(numbered_record(10)).size();
    auto log = open_log(path, 3 * line, 2);
    ASSERT_TRUE(log->append(numbered_record(10)));
    ASSERT_TRUE(log->append(numbered_record(11)));
    fs::resize_file(path, 0); // logrotate's copytruncate
    ASSERT_TRUE(log->append(numbered_record(12)));
    ASSERT_TRUE(log->append(numbered_record(13)));
    EXPECT_EQ(log->rotations(), 0u);
    EXPECT_EQ(read_records(path).size(), 2u);
}

} // namespace
} // namespace flowwall::audit
