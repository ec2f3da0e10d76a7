// SPDX-License-Identifier: Apache-2.0
// The consumer of the datapath's ring buffer: learned flows go to the model (by identity
// name), alerts and drops become audit records (log file and live stream). Runs on its own
// thread; a flood cannot swamp it because the kernel de-duplicates per flow and counts what
// the ring could not take.
#pragma once

#include "src/audit/audit_log.h"
#include "src/audit/audit_stream.h"
#include "src/common/ip_address.h"
#include "src/datapath/event_reader.h"
#include "src/enforcement/firewall_policy.h"
#include "src/identity/identity_registry.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>

namespace flowwall::enforcement {

// Which workload runs at each local address: the names in learned flows and audit records.
using WorkloadNames = std::map<IpAddress, std::string>;

class EventPump {
public:
    struct Targets {
        identity::IdentityRegistry& registry;
        FirewallPolicy& policy;
        audit::AuditLog* log; // may be null (no audit log could be opened)
        audit::AuditStream& stream;
        // The names as they are now, taken once per batch of events (the daemon's node agent
        // answers from its latest snapshot); may return null.
        std::function<std::shared_ptr<const WorkloadNames>()> workload_names;
        std::string node;
    };

    static Result<std::unique_ptr<EventPump>> open(int events_fd, Targets targets);
    void run(std::stop_token stop);
    // Handles every event already in the ring buffer, without waiting (benchmarks, tests).
    Result<int> drain();

    uint64_t events() const { return events_.load(); }
    uint64_t audit_records() const { return audit_records_.load(); }
    uint64_t alerts() const { return alerts_.load(); }
    uint64_t blocks() const { return blocks_.load(); }

private:
    explicit EventPump(Targets targets) : targets_(std::move(targets)) {}
    void handle(const fw_event& event);

    Targets targets_;
    std::unique_ptr<datapath::EventReader> reader_;
    std::shared_ptr<const WorkloadNames> names_; // refreshed per batch
    std::atomic<uint64_t> events_{0};
    std::atomic<uint64_t> audit_records_{0};
    std::atomic<uint64_t> alerts_{0};
    std::atomic<uint64_t> blocks_{0};
};

} // namespace flowwall::enforcement
