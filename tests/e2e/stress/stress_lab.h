// SPDX-License-Identifier: Apache-2.0
// What the flood and full-map tests share: a lab of client workloads and one server,
// described by an endpoints file; a bounded burst of new UDP flows; the daemon's counters and
// memory as it reports them.
#pragma once

#include "tests/e2e/daemon/daemon_process.h"
#include "tests/support/netns_lab.h"
#include "tests/support/temp_dir.h"

#include <cstdint>
#include <string>
#include <vector>

namespace flowwall::testing {

class StressLab {
public:
    // Workloads "client-1".."client-<clients>" (identities client-N) and "server".
    explicit StressLab(int clients);
    const Workload& server() const { return *server_; }
    const std::vector<const Workload*>& clients() const { return clients_; }
    // flowwalld arguments for this lab: no Docker, the endpoints file.
    std::vector<std::string> daemon_args() const;

private:
    Lab lab_;
    TempDir dir_;
    const Workload* server_ = nullptr;
    std::vector<const Workload*> clients_;
};

// Sends one UDP datagram from `from` to each port in [first_port, first_port + ports) of
// `to`: that many new flows. Bounded by the count and by a 20 s deadline; returns how many
// were handed to the kernel.
int udp_burst(const Workload& from, const Address& to, uint16_t first_port, int ports);

// Sends one UDP datagram to to:port from each source port in [first_source, first_source +
// sources): that many new flows of one modelled flow. Same bounds and result as udp_burst.
int udp_burst_from(const Workload& from, const Address& to, uint16_t port, uint16_t first_source,
                   int sources);

// One sample of the daemon's /metrics, e.g. metric(daemon,
// "flowwall_packets_total{verdict=\"drop\",reason=\"blocked\"}"); -1 when absent.
double metric(const DaemonProcess& daemon, const std::string& sample);

// The daemon's resident memory (VmRSS), in KiB.
long resident_kib(const DaemonProcess& daemon);

} // namespace flowwall::testing
