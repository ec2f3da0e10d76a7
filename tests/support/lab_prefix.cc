// SPDX-License-Identifier: Apache-2.0
#include "tests/support/lab_prefix.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "tests/support/netns_lab.h"

namespace flowwall::testing {
namespace {

constexpr std::string_view kNetnsDir = "/run/netns";
// One lock file per live lab. Not under /run/netns: `ip netns list` would show it.
constexpr std::string_view kLockDir = "/run/flowwall-testlab";
// The base every Lab uses, and the length of a whole prefix (base + 6 digits).
constexpr std::string_view kBase = Lab::kPrefixBase;
constexpr std::size_t kPrefixLength = 9;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

bool delete_quietly(const std::vector<std::string>& argv) {
    try {
        const ExecResult result = Lab::exec("", argv);
        if (result.ok()) {
            return true;
        }
        std::cerr << "lab leftovers: `" << argv[1] << " " << argv.back()
                  << "` not deleted: " << result.err << '\n';
    } catch (const std::exception& e) {
        std::cerr << "lab leftovers: " << e.what() << '\n';
    }
    return false;
}

std::string lock_path_for(const std::string& prefix) {
    return std::string(kLockDir) + "/" + prefix + ".lock";
}

// The lab prefix a netns, link or lock file name belongs to, if it has the shape Lab gives.
std::optional<std::string> owner_of(const std::string& name) {
    if (name.size() < kPrefixLength || !name.starts_with(kBase)) {
        return std::nullopt;
    }
    const auto digits = std::string_view(name).substr(kBase.size(), kPrefixLength - kBase.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    return name.substr(0, kPrefixLength);
}

// A lab is alive while some process holds the flock on its lock file; the kernel drops the
// lock when that process dies, however it dies, so a crash always makes its lab stale.
bool lab_is_alive(const std::string& prefix) {
    UniqueFd fd(::open(lock_path_for(prefix).c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) {
        return false;
    }
    return ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

std::vector<std::string> netns_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

// Links of the caller's namespace. Lab never creates links there (veths are created inside
// the lab's namespaces), but an interrupted `ip` or a hand-run experiment might.
std::vector<std::string> host_link_names() {
    std::vector<std::string> names;
    if (struct if_nameindex* list = ::if_nameindex()) {
        for (auto* it = list; it->if_index != 0; ++it) {
            names.emplace_back(it->if_name);
        }
        ::if_freenameindex(list);
    }
    return names;
}

} // namespace

std::size_t remove_lab_leftovers(const std::string& prefix, bool spare_live) {
    const auto doomed = [&](const std::string& name) {
        if (!name.starts_with(prefix)) {
            return false;
        }
        const auto owner = owner_of(name);
        return !spare_live || !owner || !lab_is_alive(*owner);
    };

    std::size_t removed = 0;
    for (const auto& name : netns_names()) {
        if (doomed(name) && delete_quietly({"ip", "netns", "del", name})) {
            ++removed;
        }
    }
    for (const auto& name : host_link_names()) {
        // Deleting one end of a veth pair deletes the other, which may already be gone.
        if (doomed(name) && delete_quietly({"ip", "link", "del", "dev", name})) {
            ++removed;
        }
    }
    if (spare_live) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(kLockDir, ec)) {
            const std::string name = entry.path().filename().string();
            if (!name.starts_with(prefix)) {
                continue;
            }
            // Unlink only while holding the lock, so a lab cannot take it in between.
            UniqueFd fd(::open(entry.path().c_str(), O_RDWR | O_CLOEXEC));
            if (fd.get() >= 0 && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
                ::unlink(entry.path().c_str());
            }
        }
    }
    return removed;
}

LabPrefix LabPrefix::acquire(std::string_view base) {
    static std::atomic<unsigned> counter{0};

    if (::mkdir(std::string(kLockDir).c_str(), 0755) != 0 && errno != EEXIST) {
        throw_errno("mkdir " + std::string(kLockDir));
    }
    const unsigned pid = static_cast<unsigned>(::getpid()) % 10000;
    // Bounded: at most 100 distinct prefixes per pid; each one taken means a live lab.
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::array<char, 16> text{};
        std::snprintf(text.data(), text.size(), "%.*s%04u%02u", static_cast<int>(base.size()),
                      base.data(), pid, counter.fetch_add(1) % 100);
        const std::string prefix = text.data();
        const std::string path = lock_path_for(prefix);

        UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (fd.get() < 0) {
            throw_errno("open " + path);
        }
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            continue; // a live lab (here or in another process) owns this prefix
        }
        // remove_stale() may have unlinked the file between our open() and flock(); a lock on
        // an unlinked file would protect nothing, so only a lock on the path's file counts.
        struct stat held {};
        struct stat named {};
        if (::fstat(fd.get(), &held) != 0 || ::stat(path.c_str(), &named) != 0 ||
            held.st_ino != named.st_ino || held.st_dev != named.st_dev) {
            continue;
        }
        return LabPrefix(prefix, path, std::move(fd));
    }
    throw std::runtime_error("Lab: no free prefix for this process (100 labs alive?)");
}

LabPrefix::~LabPrefix() {
    if (lock_.valid()) {
        ::unlink(lock_path_.c_str());
    }
}

} // namespace flowwall::testing
