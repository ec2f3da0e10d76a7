// SPDX-License-Identifier: Apache-2.0
// One rtnetlink request and its replies, in the calling thread's network namespace (call it
// inside run_in_netns() for another one): what interfaces.cc and netlink_filters.cc share.
// libbpf covers attaching; listing links, filters and namespace ids is raw rtnetlink.
#pragma once

#include "src/common/result.h"
#include "src/common/unique_fd.h"

#include <linux/netlink.h>

#include <cstddef>
#include <functional>
#include <string>

namespace flowwall::datapath {

// The sequence number every request here carries; replies with another one are skipped.
inline constexpr uint32_t kRtnetlinkSequence = 1;

// A NETLINK_ROUTE socket with a receive timeout, so a kernel that never answers cannot hang
// the daemon.
Result<UniqueFd> open_rtnetlink(const std::string& what);

// Sends `request` (a complete nlmsghdr with its payload, nlmsg_seq = kRtnetlinkSequence) and
// hands every reply of type `wanted` to on_message: until NLMSG_DONE for a dump, until the
// first answer otherwise. Acknowledgements are not failures; an NLMSG_ERROR is, with its errno.
Status rtnetlink_exchange(int sock, const nlmsghdr& request, uint16_t wanted, bool dump,
                          const std::string& what,
                          const std::function<void(const nlmsghdr*)>& on_message);

} // namespace flowwall::datapath
