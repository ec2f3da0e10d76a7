// SPDX-License-Identifier: Apache-2.0
#include "tests/e2e/spoofing/spoofing_scene.h"

#include "tests/e2e/daemon/endpoints_writer.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace flowwall::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int socket_in(const Workload& w, int family, int type) {
    int fd = -1;
    Lab::run_in_netns(w.netns_path, [&] { fd = ::socket(family, type | SOCK_CLOEXEC, 0); });
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "socket in " + w.netns);
    return fd;
}

sockaddr_storage to_sockaddr(const Workload& w, const Address& address, uint16_t port,
                             socklen_t& length) {
    sockaddr_storage storage{};
    if (address.family() == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, address.bytes.data(), 4);
        length = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
        if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
            in6->sin6_scope_id = static_cast<uint32_t>(w.ifindex);
        length = sizeof(sockaddr_in6);
    }
    return storage;
}

} // namespace

SpoofingScene::SpoofingScene() {
    web_ = &lab_.add_workload("web");
    api_ = &lab_.add_workload("api");
    db_ = &lab_.add_workload("db");
    intruder_ = &lab_.add_workload("intruder");
    for (const char* any : {"0.0.0.0", "::"}) {
        Address address = std::string(any) == "::" ? Address::v6(any) : Address::v4(any);
        db_tcp_.push_back(std::make_unique<TcpServer>(db_->netns_path, address, kDbPort));
        db_udp_.push_back(std::make_unique<UdpEchoServer>(db_->netns_path, address, kDnsPort));
    }
    for (const Address& address : {lab_.gateway_v4(), lab_.gateway_v6()})
        node_tcp_.push_back(
            std::make_unique<TcpServer>(lab_.bridge_netns_path(), address, kNodePort));
    endpoints_file_ =
        std::filesystem::temp_directory_path() / ("fw-spoofing-" + lab_.prefix() + ".json");
    json entries = json::array();
    for (const Workload* w : {web_, api_, db_, intruder_})
        entries.push_back(endpoint_entry(w->name + "-1", w->name, *w));
    write_endpoints(endpoints_file_, entries);
}

SpoofingScene::~SpoofingScene() {
    daemon_.reset(); // before the lab: it stops and cleans up while the namespaces exist
    std::error_code ignored;
    std::filesystem::remove(endpoints_file_, ignored);
}

void SpoofingScene::start_daemon() {
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{
        "--docker", "false", "--endpoints-file", endpoints_file_.string(), "--learning-period",
        "0s", "--after-learning", "block",
        // Every drop reported: each attack's audit record is its own, not folded into an
        // earlier row's report of the same flow (by identity) within the interval.
        "--event-dedup-interval", "0s"});
    daemon_->set_netns(lab_.bridge_netns_path());
    daemon_->start();
    for (const auto& [from, flow] :
         {std::pair{"web", "5432/tcp"}, {"web", "53/udp"}, {"api", "5432/tcp"}}) {
        ExecResult added = daemon_->cli({"model", "allow", from, "db", flow});
        if (!added.ok())
            throw std::runtime_error("flowwall model allow failed: " + added.err);
    }
    bool ready = eventually(
        [&] {
            const json status = daemon_->cli_json({"status"});
            return status.at("datapath").at("interfaces_guarded") == 4 && none_learning(*daemon_);
        },
        std::chrono::seconds(10));
    if (!ready)
        throw std::runtime_error("flowwalld did not guard the 4 workloads in block mode:\n" +
                                 daemon_->cli({"endpoints"}).out + daemon_->log());
}

size_t SpoofingScene::db_udp_received() const {
    size_t total = 0;
    for (const auto& server : db_udp_)
        total += server->received();
    return total;
}

size_t SpoofingScene::db_reached() const {
    size_t total = db_udp_received();
    for (const auto& server : db_tcp_)
        total += server->accepted();
    return total;
}

void SpoofingScene::stop_db_udp() {
    for (auto& server : db_udp_)
        server->stop();
}

size_t SpoofingScene::node_accepted() const {
    size_t total = 0;
    for (const auto& server : node_tcp_)
        total += server->accepted();
    return total;
}

bool link_local_tcp(const Workload& from, const Address& src, const Address& dst, uint16_t port,
                    std::chrono::milliseconds timeout) {
    UniqueFd fd(socket_in(from, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK));
    socklen_t length = 0;
    sockaddr_storage local = to_sockaddr(from, src, 0, length);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), length) != 0)
        throw std::system_error(errno, std::generic_category(), "bind " + src.str());
    sockaddr_storage remote = to_sockaddr(from, dst, port, length);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), length) != 0 &&
        errno != EINPROGRESS)
        return false;
    pollfd writable{fd.get(), POLLOUT, 0};
    if (::poll(&writable, 1, static_cast<int>(timeout.count())) != 1)
        return false;
    int error = 0;
    socklen_t error_length = sizeof(error);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length);
    return error == 0;
}

void send_udp(const Workload& from, const Address& src, const Address& dst, uint16_t port) {
    UniqueFd fd(socket_in(from, src.family(), SOCK_DGRAM));
    socklen_t length = 0;
    sockaddr_storage local = to_sockaddr(from, src, 0, length);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), length) != 0)
        throw std::system_error(errno, std::generic_category(), "bind " + src.str());
    sockaddr_storage remote = to_sockaddr(from, dst, port, length);
    const char payload[] = "flowwall spoofing probe";
    ::sendto(fd.get(), payload, sizeof(payload), 0, reinterpret_cast<sockaddr*>(&remote), length);
}

std::string ip_output(const Workload& in, const std::vector<std::string>& args) {
    // nsenter rather than `ip -n`: it also reaches a container's /proc/<pid>/ns/net.
    std::vector<std::string> argv{"nsenter", "--net=" + in.netns_path, "ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    ExecResult result = Lab::exec("", argv);
    if (!result.ok())
        throw std::runtime_error("ip " + args.front() + "... in " + in.netns_path +
                                 " failed: " + result.err);
    return result.out;
}

void ip(const Workload& in, const std::vector<std::string>& args) {
    ip_output(in, args);
}

bool grows(const std::function<size_t()>& count, size_t before, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (count() > before)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return count() > before;
}

} // namespace flowwall::testing
