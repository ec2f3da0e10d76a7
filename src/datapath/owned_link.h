// SPDX-License-Identifier: Apache-2.0
// A bpf_link flowwall created, optionally pinned so that it outlives the process: what tcx
// and XDP attachments have in common. A restarted daemon adopts the pinned link and swaps
// its program atomically instead of attaching a second one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "src/common/result.h"
#include "src/common/unique_fd.h"

namespace flowwall::datapath {

// What a link is attached to, as the kernel reports it.
struct LinkTarget {
    uint32_t type = 0;        // BPF_LINK_TYPE_*
    uint32_t ifindex = 0;     // 0 once the interface is gone
    uint32_t attach_type = 0; // tcx: the hook; 0 for link types that do not report one
};

class OwnedLink {
public:
    OwnedLink() = default;

    // The link pinned at pin_path, switched to prog_fd, when it is attached to `expected`.
    // Nothing pinned there, or a stale link whose interface is gone (unpinned here): empty.
    // A link of another interface or hook: an EEXIST error.
    static Result<std::optional<OwnedLink>> adopt(const std::filesystem::path& pin_path,
                                                  const LinkTarget& expected, int prog_fd);

    // Takes a link just created, pinning it at pin_path unless that is empty.
    static Result<OwnedLink> own(UniqueFd link, const std::filesystem::path& pin_path);

    Status update(int prog_fd); // atomic: packets see the old program or the new one
    Status detach();            // bpf_link_detach and unpin: gone even if others hold it
    bool pinned() const { return !pin_path_.empty(); }
    int fd() const { return fd_.get(); }

private:
    OwnedLink(UniqueFd fd, std::filesystem::path pin_path)
        : fd_(std::move(fd)), pin_path_(std::move(pin_path)) {}

    UniqueFd fd_;
    std::filesystem::path pin_path_;
};

// Detaches the link pinned at pin_path from whatever it is attached to and removes the pin:
// for links no current owner claims (a workload that went away while no daemon ran, or
// flowwalld --cleanup). Nothing pinned there counts as done.
Status detach_pinned_link(const std::filesystem::path& pin_path);

} // namespace flowwall::datapath
