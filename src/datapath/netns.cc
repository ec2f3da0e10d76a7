// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/netns.h"

#include "src/common/unique_fd.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <exception>
#include <optional>
#include <thread>

namespace flowwall::datapath {

namespace {

std::string namespace_phrase(const std::string& netns_path) {
    if (netns_path.empty())
        return "the daemon's network namespace";
    return "netns " + netns_path;
}

Error open_netns_error(const std::string& netns_path, int errnum) {
    std::string hint;
    if (errnum == ENOENT)
        hint = ": the namespace is gone (its container stopped?) or the path is wrong";
    else if (errnum == EACCES || errnum == EPERM)
        hint = ": run as root";
    return Error::from_errno(errnum, "open netns " + netns_path + hint);
}

Error setns_error(const std::string& netns_path, int errnum) {
    std::string hint;
    if (errnum == EPERM)
        hint = ": run as root (entering a network namespace needs CAP_SYS_ADMIN)";
    else if (errnum == EINVAL)
        hint = ": the path is not a network namespace (expected /run/netns/NAME or "
               "/proc/PID/ns/net)";
    return Error::from_errno(errnum, "enter netns " + netns_path + hint);
}

} // namespace

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 // asm-generic/socket.h, Linux 5.14
#endif

Result<uint64_t> netns_cookie_in_entered_netns() {
    // Any socket family will do: the cookie is the namespace's, not the socket's.
    UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid())
        return Error::from_errno(errno, "open a socket to read the netns cookie");
    uint64_t cookie = 0;
    socklen_t len = sizeof(cookie);
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
        return Error::from_errno(errno, "read SO_NETNS_COOKIE (needs Linux 5.14 or later)");
    return cookie;
}

Result<uint64_t> netns_cookie_of(const std::string& netns_path) {
    uint64_t cookie = 0;
    auto status = run_in_netns(netns_path, [&]() -> Status {
        auto read = netns_cookie_in_entered_netns();
        if (!read)
            return read.error();
        cookie = read.value();
        return {};
    });
    if (!status)
        return Error{status.error().errnum, "netns cookie of " + namespace_phrase(netns_path) +
                                                ": " + status.error().message};
    return cookie;
}

std::string InterfaceRef::to_string() const {
    if (netns_path.empty())
        return name;
    return name + " in " + netns_path;
}

Status run_in_netns(const std::string& netns_path, const std::function<Status()>& work) {
    if (netns_path.empty())
        return work();

    // Opened here rather than in the thread so that a wrong path fails before a thread exists.
    UniqueFd netns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid())
        return open_netns_error(netns_path, errno);

    std::optional<Status> status;
    std::exception_ptr exception;
    std::thread worker([&] {
        try {
            if (::setns(netns.get(), CLONE_NEWNET) != 0) {
                status = setns_error(netns_path, errno);
                return;
            }
            status = work();
        } catch (...) {
            exception = std::current_exception();
        }
    });
    worker.join();
    if (exception)
        std::rethrow_exception(exception);
    return std::move(*status);
}

Result<int> ifindex_in_entered_netns(const InterfaceRef& iface) {
    unsigned ifindex = ::if_nametoindex(iface.name.c_str());
    if (ifindex != 0)
        return static_cast<int>(ifindex);
    int errnum = errno;
    if (errnum == ENODEV || errnum == ENXIO)
        return Error::from_errno(ENODEV, "no interface " + iface.name + " in " +
                                             namespace_phrase(iface.netns_path));
    return Error::from_errno(errnum, "look up interface " + iface.to_string());
}

Result<int> ifindex_of(const std::string& netns_path, const std::string& ifname) {
    int ifindex = 0;
    Status status = run_in_netns(netns_path, [&]() -> Status {
        Result<int> found = ifindex_in_entered_netns(InterfaceRef{netns_path, ifname});
        if (!found)
            return found.error();
        ifindex = found.value();
        return {};
    });
    if (!status)
        return status.error();
    return ifindex;
}

} // namespace flowwall::datapath
