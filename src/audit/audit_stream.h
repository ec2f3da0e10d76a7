// SPDX-License-Identifier: Apache-2.0
// The live side of the audit: `flowwall events` shows the recent records, and
// `flowwall events --follow` streams new ones as they happen. The producer is the datapath's
// event loop, which must never wait for a reader: each subscriber has a bounded queue, and a
// reader that falls behind loses its oldest records (and is told how many), never the others'.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "src/audit/audit_record.h"

namespace flowwall::audit {

// Where a live stream of records goes: the control API's streaming response, in practice. The
// API implements it (the daemon's routes adapt api::BodyWriter), so the audit knows nothing of
// HTTP.
class LineWriter {
public:
    virtual ~LineWriter() = default;
    // Sends whole lines now. False once the reader is gone or the server stops: the producer
    // must then return.
    virtual bool write(std::string_view lines) = 0;
    // False once the reader has hung up. Lets a producer that waits for something to send
    // notice a dead reader without writing to it.
    virtual bool alive() = 0;
};

class AuditStream {
public:
    // One reader's view of the stream. Unsubscribing is dropping the shared_ptr.
    class Subscription {
    public:
        explicit Subscription(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
        Subscription(const Subscription&) = delete;
        Subscription& operator=(const Subscription&) = delete;

        // The oldest record not yet taken, waiting up to `timeout` for one. nullopt on
        // timeout, or at once when the stream is closed and everything queued was taken.
        std::optional<AuditRecord> next(std::chrono::milliseconds timeout);
        // True once the stream was closed: no record will be added any more (some may still
        // be queued).
        bool closed() const;
        // Records this subscriber lost because its queue was full, since it subscribed.
        uint64_t dropped() const;
        // Records queued and not yet taken.
        size_t pending() const;

    private:
        friend class AuditStream;
        using Item = std::shared_ptr<const AuditRecord>;
        void push(const Item& record);
        void close();

        const size_t capacity_;
        mutable std::mutex mutex_;
        std::condition_variable ready_;
        std::deque<Item> queue_;
        uint64_t dropped_ = 0;
        bool closed_ = false;
    };

    static constexpr size_t kDefaultRecent = 1000;
    static constexpr size_t kDefaultQueue = 4096;

    explicit AuditStream(size_t recent_capacity = kDefaultRecent)
        : recent_capacity_(recent_capacity) {}
    // Closes the stream, so that readers still holding a subscription return.
    ~AuditStream();
    AuditStream(const AuditStream&) = delete;
    AuditStream& operator=(const AuditStream&) = delete;

    // Hands the record to every subscriber and keeps it among the recent ones. Never blocks
    // on a reader; O(subscribers). Ignored after close().
    void publish(const AuditRecord& record);

    // The last `max` records (at most the recent capacity), oldest first.
    std::vector<AuditRecord> recent(size_t max) const;

    // Records published from now on. After close(), an already closed subscription.
    std::shared_ptr<Subscription> subscribe(size_t queue_capacity = kDefaultQueue);

    // Daemon stop: wakes every waiting next(); later publishes are ignored.
    void close();
    bool closed() const;

    // Subscriptions still held by someone.
    size_t subscribers() const;

private:
    const size_t recent_capacity_;
    mutable std::mutex mutex_;
    std::deque<std::shared_ptr<const AuditRecord>> recent_;
    // weak: a reader that goes away (client hung up) must not keep receiving copies.
    std::vector<std::weak_ptr<Subscription>> subscribers_;
    bool closed_ = false;
};

// The body of a `flowwall events --follow` response: subscribes, then writes every record
// published from now on as one JSON line (to_json_line()), until the client goes away
// (writer.alive() or write() false) or the stream closes. When this reader fell behind and
// records were dropped, a line {"dropped": N} comes before the next record, N being the
// number lost since the previous such line. `poll` bounds how long a hung-up client goes
// unnoticed while nothing is published.
void stream_json_lines(AuditStream& stream, LineWriter& writer,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(200),
                       size_t queue_capacity = AuditStream::kDefaultQueue);

} // namespace flowwall::audit
