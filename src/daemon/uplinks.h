// SPDX-License-Identifier: Apache-2.0
// The node's uplinks, where the XDP prefilter drops what inbound deny lists name before the
// stack sees it: by default the interfaces of the default routes (IPv4 and IPv6, multipath
// included), or the configured ones. Each gets the prefilter through a pinned XDP link (a
// restarted daemon adopts it), native where the driver supports it and generic otherwise.
#pragma once

#include "src/common/result.h"
#include "src/datapath/xdp_attachment.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace flowwall::daemon {

// Names of the interfaces default routes (main table) leave through, in the daemon's netns.
Result<std::vector<std::string>> default_route_interfaces();

struct UplinkState {
    std::string name;
    std::string mode;  // "native" | "generic" as attached; "" when not attached
    std::string error; // why not
};

class Uplinks {
public:
    // Attaches the prefilter to each of `names`; an interface that refuses is reported, the
    // others go on.
    Uplinks(const std::vector<std::string>& names, int prefilter_fd, datapath::XdpMode mode,
            const std::filesystem::path& links_dir);
    // Leaves the programs attached (pinned): stopping the daemon never opens the node.
    ~Uplinks();

    const std::vector<UplinkState>& states() const { return states_; }
    nlohmann::json view() const; // [{"name", "xdp_mode", "error"}]
    std::vector<std::string> problems() const;

private:
    std::vector<datapath::XdpAttachment> attachments_;
    std::vector<UplinkState> states_;
};

} // namespace flowwall::daemon
