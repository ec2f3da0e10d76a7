// SPDX-License-Identifier: Apache-2.0
//
// The Docker side of the end-to-end tests: a daemon to talk to, images to run, and containers
// and networks that disappear when the test ends.
//
// No registry is reachable from the test machines, so images are made locally from Debian's
// busybox-static (one static binary and its applet links), imported under whatever names a
// test needs; the name is what decides a container's identity.
//
// Addresses come only from 198.18.0.0/15 (RFC 2544 benchmarking): the dockerd we start uses
// 198.18.250.0/24 for its default bridge and 198.18.128.0/17 for networks it allocates, and
// DockerScope::create_network() takes /24s from 198.18.64.0/18, below that pool.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/netns_lab.h"

namespace flowwall::testing {

inline constexpr const char* kDockerSocket = "/var/run/docker.sock";

// True when a Docker daemon answers GET /_ping on `socket` within `timeout`.
bool docker_answers(const std::string& socket = kDockerSocket,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));

// Makes sure a daemon answers on kDockerSocket: uses the running one, or starts
// /usr/sbin/dockerd with flowwall's test address ranges (log in a temporary file) and waits up
// to 30 s for it. Throws std::runtime_error saying what to do when there is no dockerd (run
// ./scripts/install-deps), when not root, or when the daemon does not come up (with the end of
// its log).
void ensure_dockerd();

// The docker client: /usr/bin/docker (Debian's docker.io), else /usr/local/bin/docker.
const std::string& docker_binary();

// Runs `docker <args>`; never throws for a failing command, only when docker cannot start.
ExecResult docker(const std::vector<std::string>& args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));
// Same, but a non-zero exit throws std::runtime_error with the command and its stderr.
// Returns stdout without its trailing newline.
std::string docker_ok(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Makes sure an image called `name` ("flowwall-test/web:1") exists, importing one built from
// /bin/busybox (PATH=/bin; sh, nc, sleep, ip, ... as links) if it does not. Throws with what
// to install when busybox-static is missing. `socket`: the daemon to import into (a test's own
// dockerd, as tests/e2e/swarm starts one).
void ensure_busybox_image(const std::string& name, const std::string& socket = kDockerSocket);

// Full id of a container given by name or id.
std::string container_id(const std::string& name_or_id);
// The container's IPv4 address on `network`, or on its first network with one when `network`
// is empty; "" when it has none.
std::string container_ip(const std::string& name_or_id, const std::string& network = "");

// Containers and networks created through it are force-removed by the destructor, so a test
// that fails half-way leaves nothing behind. Names get a per-process prefix ("fwt-1234-web"),
// so parallel test processes never collide; everything carries the label
// flowwall-test.owner=<pid>, which lets the constructor remove what a crashed earlier run
// left behind (owner pid no longer alive).
class DockerScope {
public:
    DockerScope();
    ~DockerScope();
    DockerScope(const DockerScope&) = delete;
    DockerScope& operator=(const DockerScope&) = delete;

    // "fwt-<pid>-<base>"
    std::string name(const std::string& base) const;

    // Creates a bridge network on the first free /24 of 198.18.64.0/18; returns its name.
    // `subnet_out`, when given, receives the subnet ("198.18.64.0/24").
    std::string create_network(const std::string& base, std::string* subnet_out = nullptr);

    // `docker run -d --name <name(base)> --label ... <args...>`; returns the full id. args
    // start with docker run options and end with the image and command, e.g.
    // {"--network", net, "flowwall-test/web:1", "sleep", "3600"}.
    std::string run(const std::string& base, const std::vector<std::string>& args);
    // `docker create` likewise, for containers a test starts later.
    std::string create(const std::string& base, const std::vector<std::string>& args);

    // Removes one container now (and forgets it).
    void remove_container(const std::string& name_or_id);

    // Removes containers and networks with the owner label whose process is gone.
    static void remove_stale();

private:
    std::string prefix_;
    std::vector<std::string> containers_;
    std::vector<std::string> networks_;
};

} // namespace flowwall::testing
