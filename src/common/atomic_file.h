// SPDX-License-Identifier: Apache-2.0
// Files that must never be seen half-written (the identity registry, the model): a reader
// sees either the old content or the new, even across a crash or power loss.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "src/common/result.h"

namespace flowwall::common {

// Writes a temporary file next to `path`, fsyncs it, renames it over `path` and fsyncs the
// directory. With keep_previous, the current content (if any) first becomes
// previous_version_path(path), so one bad write can still be undone by hand or by a loader
// that falls back to it.
Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             mode_t mode = 0644, bool keep_previous = false);

// Removes what write_file_atomically(path, ...) leaves when the process dies part way (the
// temporary file, the staging link of the previous version): each crash during a save would
// otherwise leave a copy behind for good. Call before the first write of a process, never
// while another thread may be writing `path`. Returns how many files it removed.
size_t remove_interrupted_writes(const std::filesystem::path& path);

// The whole file, if it is a regular file of at most max_bytes. The error's errnum tells a
// missing file (ENOENT) from one that is too big (EFBIG) or unreadable (EACCES, EISDIR...).
Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes);

// "<path>.prev"
std::filesystem::path previous_version_path(const std::filesystem::path& path);

} // namespace flowwall::common
