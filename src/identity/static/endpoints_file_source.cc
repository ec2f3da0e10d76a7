// SPDX-License-Identifier: Apache-2.0
#include "src/identity/static/endpoints_file_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>

#include "src/common/atomic_file.h"
#include "src/common/unique_fd.h"
#include "src/identity/static/endpoints_file.h"

namespace flowwall::identity {
namespace {

constexpr size_t kMaxFileBytes = 16u << 20;
// Editors and tools write in bursts (write, chmod, rename); one reload per burst is enough.
constexpr auto kSettleTime = std::chrono::milliseconds(50);

// What stat() says about the file; a difference from the last attempt means "reload".
struct FileSignature {
    int stat_errno = 0;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;

    bool operator==(const FileSignature&) const = default;
};

int64_t to_ns(const timespec& time) {
    return static_cast<int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

FileSignature signature_of(const std::filesystem::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return {.stat_errno = errno};
    return {.device = info.st_dev,
            .inode = info.st_ino,
            .size = info.st_size,
            .mtime_ns = to_ns(info.st_mtim),
            .ctime_ns = to_ns(info.st_ctim)};
}

// Watches the file's directory, not the file: editors and config tools replace the file by
// renaming a new one over it, which a watch on the old inode would never see.
class DirectoryWatch {
public:
    explicit DirectoryWatch(const std::filesystem::path& file)
        : directory_(file.parent_path()), file_name_(file.filename().string()),
          inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        if (!inotify_.valid())
            spdlog::warn("endpoints file: inotify unavailable ({}); checking {} by polling",
                         std::strerror(errno), file.string());
    }

    // Retried on every round: the directory may appear later or be replaced.
    void ensure_watching() {
        if (!inotify_.valid() || watch_ >= 0)
            return;
        watch_ = ::inotify_add_watch(inotify_.get(), directory_.c_str(),
                                     IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                         IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
    }

    // Waits up to `timeout` for an event about the file or a wake-up on stop_fd; true when
    // the file changed.
    bool wait(std::chrono::milliseconds timeout, int stop_fd) {
        pollfd fds[2] = {{stop_fd, POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
        nfds_t count = inotify_.valid() ? 2 : 1;
        int ready = ::poll(fds, count, static_cast<int>(timeout.count()));
        if (ready <= 0 || (fds[0].revents & POLLIN) || !(count == 2 && fds[1].revents))
            return false;
        bool changed = drain();
        if (changed) {
            ::poll(fds, 1, static_cast<int>(kSettleTime.count()));
            drain();
        }
        return changed;
    }

private:
    bool drain() {
        alignas(inotify_event) char buffer[8192];
        bool changed = false;
        while (true) {
            ssize_t got = ::read(inotify_.get(), buffer, sizeof(buffer));
            if (got <= 0)
                return changed;
            for (ssize_t offset = 0; offset < got;) {
                auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
                if (event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                    watch_ = -1;
                    changed = true;
                } else if (event->len > 0 && file_name_ == event->name) {
                    changed = true;
                }
                offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            }
        }
    }

    std::filesystem::path directory_;
    std::string file_name_;
    UniqueFd inotify_;
    int watch_ = -1;
};

} // namespace

EndpointsFileSource::EndpointsFileSource(std::filesystem::path path,
                                         std::chrono::milliseconds stat_interval)
    : path_(std::move(path)), stat_interval_(stat_interval) {}

std::string EndpointsFileSource::name() const {
    return kEndpointsFileSource;
}

void EndpointsFileSource::run(WorkloadSink& sink, std::stop_token stop) {
    const std::string source = kEndpointsFileSource;
    const std::string origin = "endpoints file " + path_.string();
    SourceHealth health;
    std::optional<size_t> good_count; // endpoints of the last good read, if any

    auto report_unavailable = [&](const std::string& why) {
        ++health.errors;
        health.state = SourceState::unavailable;
        health.message = why + (good_count ? "; keeping the last good " +
                                                 std::to_string(*good_count) + " endpoints"
                                           : std::string("; no endpoints until it is fixed"));
        spdlog::warn("{}", health.message);
        sink.health(source, health);
    };

    auto load = [&](const FileSignature& signature) {
        auto text = common::read_file(path_, kMaxFileBytes);
        if (!text) {
            if (text.error().errnum == ENOENT)
                report_unavailable(origin + " does not exist: create it (format: "
                                            "deploy/examples/endpoints.json) or unset "
                                            "endpoints-file; it is read as soon as it appears");
            else
                report_unavailable(text.error().to_string());
            return;
        }
        auto workloads = parse_endpoints_file(text.value(), origin, signature.mtime_ns);
        if (!workloads) {
            report_unavailable(workloads.error().message);
            return;
        }
        good_count = workloads.value().size();
        sink.replace_all(source, std::move(workloads).value());
        health.state = SourceState::synced;
        health.message = std::to_string(*good_count) + " endpoints from " + path_.string();
        health.last_sync = std::chrono::system_clock::now();
        spdlog::info("{}", health.message);
        sink.health(source, health);
    };

    try {
        UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        std::stop_callback wake_on_stop(stop, [&] {
            uint64_t one = 1;
            if (stop_fd.valid()) {
                [[maybe_unused]] auto ignored = ::write(stop_fd.get(), &one, sizeof(one));
            }
        });
        // Without an eventfd the wait is bounded by short polls instead.
        auto max_wait = stop_fd.valid() ? stat_interval_
                                        : std::min(stat_interval_, std::chrono::milliseconds(200));
        DirectoryWatch watch(path_);
        std::optional<FileSignature> last_attempt;
        bool changed = true;
        while (!stop.stop_requested()) {
            watch.ensure_watching();
            auto signature = signature_of(path_);
            if (changed || signature != last_attempt) {
                last_attempt = signature;
                load(signature);
            }
            changed = watch.wait(max_wait, stop_fd.valid() ? stop_fd.get() : -1);
        }
    } catch (const std::exception& e) {
        // run() must not throw: the daemon would lose every other source with it.
        health.state = SourceState::unavailable;
        health.message = origin + ": stopped following the file: " + e.what();
        ++health.errors;
        spdlog::error("{}", health.message);
        sink.health(source, health);
    }
}

} // namespace flowwall::identity
