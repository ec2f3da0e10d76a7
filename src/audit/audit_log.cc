// SPDX-License-Identifier: Apache-2.0
#include "src/audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <spdlog/spdlog.h>

namespace flowwall::audit {
namespace {

// Like mkdir -p, but only the directories it creates get 0750: an existing /var/log keeps
// its mode. The log holds who talked to whom, which is not for every local user.
Status create_parent_directories(const std::filesystem::path& file) {
    auto parent = file.parent_path();
    if (parent.empty())
        return {};
    std::filesystem::path partial;
    for (const auto& part : parent) {
        partial /= part;
        if (::mkdir(partial.c_str(), 0750) == 0 || errno == EEXIST)
            continue;
        return Error::from_errno(errno,
                                 "create directory " + partial.string() + " for the audit log");
    }
    return {};
}

} // namespace

std::filesystem::path AuditLog::rotated_path(const std::filesystem::path& path, unsigned n) {
    auto rotated = path;
    rotated += "." + std::to_string(n);
    return rotated;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::filesystem::path& path,
                                                 uint64_t max_bytes, unsigned keep) {
    if (path.empty())
        return Error{EINVAL, "audit log path is empty"};
    if (max_bytes == 0)
        return Error{EINVAL, "audit log size limit must be more than 0 bytes"};
    std::unique_ptr<AuditLog> log(new AuditLog(path, max_bytes, keep));
    std::lock_guard lock(log->mutex_);
    if (auto status = log->open_file(); !status)
        return status.error();
    return log;
}

Status AuditLog::open_file() {
    if (auto status = create_parent_directories(path_); !status)
        return status;
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640));
    if (!fd.valid())
        return Error::from_errno(errno, "open audit log " + path_.string());
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return Error::from_errno(errno, "stat audit log " + path_.string());
    fd_ = std::move(fd);
    rotatable_ = S_ISREG(info.st_mode);
    size_ = static_cast<uint64_t>(info.st_size);
    device_ = info.st_dev;
    inode_ = info.st_ino;
    return {};
}

// One stat per record keeps the log where people look for it: without it, after a logrotate
// without copytruncate or an `rm`, every later record would go to a file nobody can open.
// It also refreshes size_, which another writer or a truncation may have changed.
Status AuditLog::reopen_if_replaced() {
    struct stat info {};
    if (fd_.valid() && ::stat(path_.c_str(), &info) == 0 && info.st_dev == device_ &&
        info.st_ino == inode_) {
        if (rotatable_)
            size_ = static_cast<uint64_t>(info.st_size);
        return {};
    }
    return open_file();
}

Status AuditLog::rotate() {
    if (keep_ == 0) {
        if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "remove full audit log " + path_.string());
    } else {
        // rename() replaces the target, so the oldest copy drops out without an unlink.
        for (unsigned n = keep_ - 1; n >= 1; --n) {
            auto from = rotated_path(path_, n);
            if (::rename(from.c_str(), rotated_path(path_, n + 1).c_str()) != 0 && errno != ENOENT)
                return Error::from_errno(errno, "rotate audit log " + from.string());
        }
        if (::rename(path_.c_str(), rotated_path(path_, 1).c_str()) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "rotate audit log " + path_.string());
    }
    rotations_.fetch_add(1, std::memory_order_relaxed);
    // Should this fail, fd_ still points at what is now <path>.1 and the record goes there;
    // the next append sees <path> missing and tries again.
    return open_file();
}

Status AuditLog::write_line(const std::string& line) {
    ssize_t written;
    do {
        written = ::write(fd_.get(), line.data(), line.size());
    } while (written < 0 && errno == EINTR);
    if (written == static_cast<ssize_t>(line.size())) {
        size_ += line.size();
        return {};
    }
    // A short write (the disk filled up mid-line) would leave half a line that the next
    // record continues: cut it back off so every line in the file stays whole JSON.
    int err = written < 0 ? errno : ENOSPC;
    if (written > 0 && rotatable_ && ::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0)
        spdlog::warn("audit log {}: could not remove a partly written line: {}", path_.string(),
                     Error::from_errno(errno, "ftruncate").to_string());
    return Error::from_errno(err, "write audit log " + path_.string() + " (is the disk full?)");
}

Status AuditLog::append(const AuditRecord& record) {
    std::string line = to_json_line(record);
    std::lock_guard lock(mutex_);
    auto status = reopen_if_replaced();
    if (status && rotatable_ && size_ > 0 && size_ + line.size() > max_bytes_) {
        // A record is worth more than the size limit: when rotation fails, write it anyway.
        if (auto rotated = rotate(); !rotated) {
            if (!rotation_failing_)
                spdlog::warn("audit log: {}; writing past the size limit until rotation works",
                             rotated.error().to_string());
            rotation_failing_ = true;
        } else {
            rotation_failing_ = false;
        }
    }
    if (status && fd_.valid())
        status = write_line(line);
    if (!status) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        return status;
    }
    records_written_.fetch_add(1, std::memory_order_relaxed);
    return {};
}

} // namespace flowwall::audit
