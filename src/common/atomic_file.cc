// SPDX-License-Identifier: Apache-2.0
#include "src/common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "src/common/unique_fd.h"

namespace flowwall::common {
namespace {

std::filesystem::path directory_of(const std::filesystem::path& path) {
    auto dir = path.parent_path();
    return dir.empty() ? std::filesystem::path(".") : dir;
}

Status write_all(int fd, std::string_view content, const std::string& what) {
    while (!content.empty()) {
        ssize_t written = ::write(fd, content.data(), content.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(errno, "write " + what + " (is the disk full?)");
        }
        content.remove_prefix(static_cast<size_t>(written));
    }
    return {};
}

Status fsync_directory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
        return Error::from_errno(errno, "open directory " + dir.string() + " to sync it");
    if (::fsync(fd.get()) != 0)
        return Error::from_errno(errno, "sync directory " + dir.string());
    return {};
}

// A hard link keeps `path` in place the whole time, so a crash between the two renames
// never leaves the current file missing. Filesystems without hard links get a rename: a
// short window without `path`, during which a loader finds the .prev copy.
Status keep_previous_version(const std::filesystem::path& path) {
    auto previous = previous_version_path(path);
    auto staging = previous;
    staging += ".tmp";
    ::unlink(staging.c_str());
    if (::link(path.c_str(), staging.c_str()) == 0) {
        if (::rename(staging.c_str(), previous.c_str()) == 0)
            return {};
        int err = errno;
        ::unlink(staging.c_str());
        return Error::from_errno(err, "keep previous version of " + path.string() + " as " +
                                          previous.string());
    }
    if (errno == ENOENT)
        return {}; // nothing to keep yet
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))
        return Error::from_errno(EISDIR, "replace " + path.string() + " (it is a directory)");
    if (::rename(path.c_str(), previous.c_str()) == 0 || errno == ENOENT)
        return {};
    return Error::from_errno(errno, "keep previous version of " + path.string() + " as " +
                                        previous.string());
}

} // namespace

std::filesystem::path previous_version_path(const std::filesystem::path& path) {
    auto previous = path;
    previous += ".prev";
    return previous;
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             mode_t mode, bool keep_previous) {
    auto dir = directory_of(path);
    // Same directory as the target: rename() is only atomic within one filesystem.
    std::string temp_name = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
    std::vector<char> temp_template(temp_name.begin(), temp_name.end());
    temp_template.push_back('\0');
    UniqueFd fd(::mkostemp(temp_template.data(), O_CLOEXEC));
    if (!fd.valid())
        return Error::from_errno(errno, "create a temporary file in " + dir.string() +
                                            " to write " + path.string() +
                                            " (does the directory exist and is it writable?)");
    std::string temp_path(temp_template.data());
    auto fail = [&](Error error) -> Status {
        ::unlink(temp_path.c_str());
        return error;
    };

    if (::fchmod(fd.get(), mode) != 0)
        return fail(Error::from_errno(errno, "set the mode of " + temp_path));
    if (auto status = write_all(fd.get(), content, temp_path); !status)
        return fail(status.error());
    if (::fsync(fd.get()) != 0)
        return fail(Error::from_errno(errno, "sync " + temp_path));
    // close() can report a delayed write error (NFS); a file we cannot trust must not
    // replace a good one.
    if (::close(fd.release()) != 0)
        return fail(Error::from_errno(errno, "close " + temp_path));

    if (keep_previous) {
        if (auto status = keep_previous_version(path); !status)
            return fail(status.error());
    }
    if (::rename(temp_path.c_str(), path.c_str()) != 0)
        return fail(Error::from_errno(errno, "rename " + temp_path + " to " + path.string()));
    return fsync_directory(dir);
}

size_t remove_interrupted_writes(const std::filesystem::path& path) {
    // The names write_file_atomically and keep_previous_version use.
    const std::string temp_prefix = "." + path.filename().string() + ".tmp.";
    const std::string staging = previous_version_path(path).filename().string() + ".tmp";
    size_t removed = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory_of(path), ec), end; !ec && it != end;
         it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.rfind(temp_prefix, 0) != 0 && name != staging)
            continue;
        std::error_code ignored;
        if (std::filesystem::remove(it->path(), ignored))
            ++removed;
    }
    return removed;
}

Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        int err = errno;
        if (err == ENOENT)
            return Error::from_errno(err, "read " + path.string() + " (check the path)");
        if (err == EACCES)
            return Error::from_errno(err, "read " + path.string() +
                                              " (check its permissions; flowwalld runs as root)");
        return Error::from_errno(err, "read " + path.string());
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return Error::from_errno(errno, "stat " + path.string());
    if (S_ISDIR(info.st_mode))
        return Error::from_errno(EISDIR, "read " + path.string() + " (expected a file)");
    if (!S_ISREG(info.st_mode))
        return Error{0, "read " + path.string() + ": not a regular file"};
    // to_string() appends strerror(EFBIG) ("File too large") to this.
    auto too_big = [&] {
        return Error{EFBIG, "read " + path.string() + ": more than the " +
                                std::to_string(max_bytes) +
                                " bytes allowed (is it the right file?)"};
    };
    if (static_cast<uint64_t>(info.st_size) > max_bytes)
        return too_big();

    // Read until EOF rather than trusting st_size: the file may grow while we read.
    std::string content;
    char buffer[16384];
    while (true) {
        ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(errno, "read " + path.string());
        }
        if (got == 0)
            break;
        content.append(buffer, static_cast<size_t>(got));
        if (content.size() > max_bytes)
            return too_big();
    }
    return content;
}

} // namespace flowwall::common
