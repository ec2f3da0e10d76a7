// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/event_reader.h"

#include <bpf/libbpf.h>

#include <cstring>

namespace flowwall::datapath {

struct EventReader::State {
    Handler handler;
    ring_buffer* ring = nullptr;
    uint64_t malformed = 0;

    ~State() {
        if (ring != nullptr)
            ring_buffer__free(ring);
    }

    static int on_record(void* context, void* data, size_t size) {
        auto* state = static_cast<State*>(context);
        if (size < sizeof(fw_event)) {
            ++state->malformed;
            return 0;
        }
        fw_event event;
        std::memcpy(&event, data, sizeof(event)); // ring memory may be unaligned for us
        state->handler(event);
        return 0;
    }
};

Result<EventReader> EventReader::open(int ring_buffer_fd, Handler handler) {
    auto state = std::make_unique<State>();
    state->handler = std::move(handler);
    state->ring = ring_buffer__new(ring_buffer_fd, &State::on_record, state.get(), nullptr);
    if (state->ring == nullptr)
        return Error::from_errno(errno, "open event ring buffer " FW_MAP_EVENTS);
    return EventReader(std::move(state));
}

EventReader::EventReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
EventReader::EventReader(EventReader&&) noexcept = default;
EventReader& EventReader::operator=(EventReader&&) noexcept = default;
EventReader::~EventReader() = default;

Result<int> EventReader::poll(std::chrono::milliseconds timeout) {
    int n = ring_buffer__poll(state_->ring, static_cast<int>(timeout.count()));
    if (n < 0 && n != -EINTR)
        return Error::from_errno(n, "poll event ring buffer");
    return n < 0 ? 0 : n;
}

Result<int> EventReader::drain() {
    int n = ring_buffer__consume(state_->ring);
    if (n < 0)
        return Error::from_errno(n, "read event ring buffer");
    return n;
}

uint64_t EventReader::malformed_records() const {
    return state_->malformed;
}

int EventReader::epoll_fd() const {
    return ring_buffer__epoll_fd(state_->ring);
}

} // namespace flowwall::datapath
