// SPDX-License-Identifier: Apache-2.0
// The names of a Lab (netns_lab.h): every namespace and link a lab makes starts with its prefix
// ("fwt412307"), which the lab holds through a lock file for as long as it lives. The kernel
// drops the lock when the process dies, however it dies, so what a crashed test left can be
// told from what a live one (in any process) is using, and removed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "src/common/unique_fd.h"

namespace flowwall::testing {

class LabPrefix {
public:
    // Takes the next free prefix of this process: `base` + 4 digits of the pid + 2 digits of a
    // per-process counter. Fixed width, so that "pid 12, counter 34" and "pid 123, counter 4"
    // cannot both become "fwt1234". Throws when none of the 100 is free.
    static LabPrefix acquire(std::string_view base);

    LabPrefix(LabPrefix&&) = default;
    LabPrefix& operator=(LabPrefix&&) = delete;
    // Unlinks the lock file before unlocking, so nobody takes over a file about to vanish.
    ~LabPrefix();

    const std::string& name() const { return name_; }

private:
    LabPrefix(std::string name, std::string lock_path, UniqueFd lock)
        : name_(std::move(name)), lock_path_(std::move(lock_path)), lock_(std::move(lock)) {}

    std::string name_;
    std::string lock_path_;
    UniqueFd lock_;
};

// Deletes the namespaces (under /run/netns) and the caller's links named `prefix`*; with
// spare_live, skips what belongs to a lab alive in any process, and removes the lock files of
// dead ones. Best effort: failures are reported on stderr. Returns how many it deleted.
std::size_t remove_lab_leftovers(const std::string& prefix, bool spare_live);

} // namespace flowwall::testing
