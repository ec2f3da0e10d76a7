// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/rtnetlink.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace flowwall::datapath {

Result<UniqueFd> open_rtnetlink(const std::string& what) {
    UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!sock.valid())
        return Error::from_errno(errno, what + ": open rtnetlink socket");
    timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return sock;
}

Status rtnetlink_exchange(int sock, const nlmsghdr& request, uint16_t wanted, bool dump,
                          const std::string& what,
                          const std::function<void(const nlmsghdr*)>& on_message) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(sock, &request, request.nlmsg_len, 0, reinterpret_cast<const sockaddr*>(&kernel),
                 sizeof(kernel)) < 0)
        return Error::from_errno(errno, what + ": send rtnetlink request");

    alignas(nlmsghdr) std::array<char, 32768> buffer;
    for (;;) {
        ssize_t received = ::recv(sock, buffer.data(), buffer.size(), 0);
        if (received < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(errno, what + ": receive rtnetlink reply");
        }
        int remaining = static_cast<int>(received);
        for (const auto* message = reinterpret_cast<const nlmsghdr*>(buffer.data());
             NLMSG_OK(message, remaining); message = NLMSG_NEXT(message, remaining)) {
            if (message->nlmsg_seq != kRtnetlinkSequence)
                continue;
            if (message->nlmsg_type == NLMSG_DONE)
                return {};
            if (message->nlmsg_type == NLMSG_ERROR) {
                const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(message));
                if (error->error != 0)
                    return Error::from_errno(error->error, what);
                if (!dump)
                    return {};
                continue; // an acknowledgement, not a failure
            }
            if (message->nlmsg_type == wanted) {
                on_message(message);
                if (!dump)
                    return {};
            }
        }
    }
}

} // namespace flowwall::datapath
