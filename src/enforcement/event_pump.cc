// SPDX-License-Identifier: Apache-2.0
#include "src/enforcement/event_pump.h"

#include "src/datapath/counters.h"
#include "src/datapath/map_keys.h"
#include "src/policy/flow_text.h"

#include <spdlog/spdlog.h>

#include <ctime>

namespace flowwall::enforcement {

namespace {

// The datapath stamps events with CLOCK_MONOTONIC_COARSE; the audit log wants wall time.
std::chrono::system_clock::time_point wall_time_of(uint64_t monotonic_ns) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    int64_t now_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
    auto age = std::chrono::nanoseconds(now_ns - static_cast<int64_t>(monotonic_ns));
    if (age.count() < 0)
        age = std::chrono::nanoseconds(0);
    return std::chrono::system_clock::now() -
           std::chrono::duration_cast<std::chrono::system_clock::duration>(age);
}

} // namespace

Result<std::unique_ptr<EventPump>> EventPump::open(int events_fd, Targets targets) {
    std::unique_ptr<EventPump> pump(new EventPump(std::move(targets)));
    EventPump* self = pump.get();
    auto reader = datapath::EventReader::open(
        events_fd, [self](const fw_event& event) { self->handle(event); });
    if (!reader)
        return reader.error();
    pump->reader_ = std::make_unique<datapath::EventReader>(std::move(reader.value()));
    return pump;
}

void EventPump::run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        names_ = targets_.workload_names();
        auto polled = reader_->poll(std::chrono::milliseconds(200));
        if (!polled) {
            spdlog::error("event ring buffer: {}", polled.error().to_string());
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

Result<int> EventPump::drain() {
    names_ = targets_.workload_names();
    return reader_->drain();
}

void EventPump::handle(const fw_event& event) {
    ++events_;
    auto name = [&](uint32_t id) {
        auto found = targets_.registry.name_of(id);
        return found ? *found : "id:" + std::to_string(id);
    };
    std::string src = name(event.src_identity);
    std::string dst = name(event.dst_identity);
    auto src_address = datapath::address_of(event.family, event.src_addr);
    auto dst_address = datapath::address_of(event.family, event.dst_addr);
    auto workload_at = [&](const IpAddress& address) -> std::string {
        if (!names_)
            return "";
        auto found = names_->find(address);
        return found == names_->end() ? "" : found->second;
    };
    auto when = wall_time_of(event.timestamp_ns);

    if (event.kind == FW_EVENT_LEARNED) {
        targets_.policy.flow_learned(
            policy::FlowKey{src, dst, event.dst_port, event.protocol},
            workload_at(event.direction == FW_DIR_FROM_WORKLOAD ? src_address : dst_address), when);
        return;
    }
    if (event.kind != FW_EVENT_ALERT && event.kind != FW_EVENT_DROP)
        return;
    audit::AuditRecord record;
    record.time = when;
    record.node = targets_.node;
    record.action = event.kind == FW_EVENT_DROP ? "block" : "alert";
    record.src = src;
    record.dst = dst;
    record.src_ip = src_address.to_string();
    record.dst_ip = dst_address.to_string();
    record.port = event.dst_port;
    record.protocol = policy::protocol_name(event.protocol);
    record.src_workload = workload_at(src_address);
    record.dst_workload = workload_at(dst_address);
    record.suppressed = event.suppressed;
    record.direction = event.direction == FW_DIR_FROM_WORKLOAD ? "from_workload" : "to_workload";
    record.reason = datapath::counter_name(event.reason);
    if (targets_.log != nullptr)
        if (auto appended = targets_.log->append(record); !appended)
            spdlog::error("audit log: {}", appended.error().to_string());
    targets_.stream.publish(record);
    ++audit_records_;
    ++(event.kind == FW_EVENT_DROP ? blocks_ : alerts_);
}

} // namespace flowwall::enforcement
