// SPDX-License-Identifier: Apache-2.0
// Reads fw_event records from the firewall's ring buffer.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "flowwall/abi.h"
#include "src/common/result.h"

struct ring_buffer;

namespace flowwall::datapath {

class EventReader {
public:
    using Handler = std::function<void(const fw_event&)>;

    static Result<EventReader> open(int ring_buffer_fd, Handler handler);
    EventReader(EventReader&&) noexcept;
    EventReader& operator=(EventReader&&) noexcept;
    ~EventReader();

    // Waits up to `timeout` for events and hands each to the handler; returns how many.
    Result<int> poll(std::chrono::milliseconds timeout);
    // Hands every event already in the buffer to the handler, without waiting.
    Result<int> drain();
    // Records shorter than struct fw_event (a program from another build): skipped.
    uint64_t malformed_records() const;
    // For an event loop that waits on several fds: readable when events are ready.
    int epoll_fd() const;

private:
    struct State;
    explicit EventReader(std::unique_ptr<State> state);
    std::unique_ptr<State> state_; // stable address: libbpf's callback context
};

} // namespace flowwall::datapath
