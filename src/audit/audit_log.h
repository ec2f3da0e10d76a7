// SPDX-License-Identifier: Apache-2.0
// The audit log: every alert and block as one JSON line in a file (`--audit-log`, default
// /var/log/flowwall/audit.jsonl), with size-based rotation so a noisy anomaly cannot fill the
// disk. A consumer (a person with tail/jq, a log shipper) must never see a torn or interleaved
// line, so each record is one write() under a lock, and a short write is cut back off.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

#include "src/audit/audit_record.h"
#include "src/common/unique_fd.h"

namespace flowwall::audit {

class AuditLog {
public:
    static constexpr uint64_t kDefaultMaxBytes = 64ull * 1024 * 1024;
    static constexpr unsigned kDefaultKeep = 5;

    // Creates the parent directory (0750) if missing and opens `path` for appending (0640).
    // Rotation applies to regular files only: a character device or FIFO (/dev/stdout in a
    // container) is written to as is. keep = 0 means no rotated copies: a full log starts
    // over.
    static Result<std::unique_ptr<AuditLog>> open(const std::filesystem::path& path,
                                                  uint64_t max_bytes = kDefaultMaxBytes,
                                                  unsigned keep = kDefaultKeep);

    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    // One line, all or nothing. When the line would take the file past max_bytes, the file is
    // rotated first: path -> path.1 -> ... -> path.<keep>, the oldest dropped. A failure (disk
    // full, directory gone and not re-creatable) is returned and counted in write_errors();
    // the next append tries again. If the file was moved or deleted behind our back
    // (logrotate, an admin), the next append re-creates it. Thread-safe.
    Status append(const AuditRecord& record);

    uint64_t records_written() const { return records_written_.load(std::memory_order_relaxed); }
    uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }
    uint64_t rotations() const { return rotations_.load(std::memory_order_relaxed); }
    const std::filesystem::path& path() const { return path_; }

    // "<path>.<n>", the n-th most recent rotated file.
    static std::filesystem::path rotated_path(const std::filesystem::path& path, unsigned n);

private:
    AuditLog(std::filesystem::path path, uint64_t max_bytes, unsigned keep)
        : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {}

    // All under mutex_.
    Status open_file();
    Status reopen_if_replaced();
    Status rotate();
    Status write_line(const std::string& line);

    const std::filesystem::path path_;
    const uint64_t max_bytes_;
    const unsigned keep_;

    std::mutex mutex_;
    UniqueFd fd_;
    bool rotatable_ = false;
    bool rotation_failing_ = false; // warn once per failure streak, not per record
    uint64_t size_ = 0;
    dev_t device_ = 0;
    ino_t inode_ = 0;

    std::atomic<uint64_t> records_written_{0};
    std::atomic<uint64_t> write_errors_{0};
    std::atomic<uint64_t> rotations_{0};
};

} // namespace flowwall::audit
