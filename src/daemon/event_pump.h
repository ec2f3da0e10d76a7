// SPDX-License-Identifier: Apache-2.0
// The consumer of the datapath's ring buffer: learned flows go to the model (by identity
// name), alerts and drops become audit records (log file and live stream). Runs on its own
// thread; a flood cannot swamp it because the kernel de-duplicates per flow and counts what
// the ring could not take.
#pragma once

#include "src/audit/audit_log.h"
#include "src/audit/audit_stream.h"
#include "src/daemon/firewall_policy.h"
#include "src/daemon/node_agent.h"
#include "src/datapath/event_reader.h"
#include "src/identity/identity_registry.h"

#include <atomic>
#include <memory>
#include <stop_token>
#include <string>

namespace flowwall::daemon {

class EventPump {
public:
    struct Targets {
        identity::IdentityRegistry& registry;
        FirewallPolicy& policy;
        audit::AuditLog* log; // may be null (no audit log could be opened)
        audit::AuditStream& stream;
        const NodeAgent& agent; // workload names by address
        std::string node;
    };

    static datapath::Result<std::unique_ptr<EventPump>> open(int events_fd, Targets targets);
    void run(std::stop_token stop);
    // Handles every event already in the ring buffer, without waiting (benchmarks, tests).
    datapath::Result<int> drain();

    uint64_t events() const { return events_.load(); }
    uint64_t audit_records() const { return audit_records_.load(); }
    uint64_t alerts() const { return alerts_.load(); }
    uint64_t blocks() const { return blocks_.load(); }

private:
    explicit EventPump(Targets targets) : targets_(std::move(targets)) {}
    void handle(const fw_event& event);

    Targets targets_;
    std::unique_ptr<datapath::EventReader> reader_;
    std::shared_ptr<const NodeSnapshot> snapshot_; // refreshed per batch, for workload names
    std::atomic<uint64_t> events_{0};
    std::atomic<uint64_t> audit_records_{0};
    std::atomic<uint64_t> alerts_{0};
    std::atomic<uint64_t> blocks_{0};
};

} // namespace flowwall::daemon
