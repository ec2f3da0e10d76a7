// SPDX-License-Identifier: Apache-2.0
#include "src/audit/audit_stream.h"

#include <algorithm>
#include <string>

namespace flowwall::audit {

std::optional<AuditRecord> AuditStream::Subscription::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty())
        return std::nullopt;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    return *item;
}

bool AuditStream::Subscription::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

uint64_t AuditStream::Subscription::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

size_t AuditStream::Subscription::pending() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void AuditStream::Subscription::push(const Item& record) {
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        if (queue_.size() >= capacity_) {
            queue_.pop_front();
            ++dropped_;
        }
        queue_.push_back(record);
    }
    ready_.notify_one();
}

void AuditStream::Subscription::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

AuditStream::~AuditStream() {
    close();
}

void AuditStream::publish(const AuditRecord& record) {
    // One shared copy for all queues: a burst fans out as pointers, not as strings.
    auto item = std::make_shared<const AuditRecord>(record);
    std::lock_guard lock(mutex_);
    if (closed_)
        return;
    if (recent_capacity_ > 0) {
        if (recent_.size() >= recent_capacity_)
            recent_.pop_front();
        recent_.push_back(item);
    }
    // Expired subscribers are swept here so the list never outgrows the live readers.
    std::erase_if(subscribers_, [&](const std::weak_ptr<Subscription>& weak) {
        auto subscriber = weak.lock();
        if (!subscriber)
            return true;
        subscriber->push(item);
        return false;
    });
}

std::vector<AuditRecord> AuditStream::recent(size_t max) const {
    std::lock_guard lock(mutex_);
    size_t count = std::min(max, recent_.size());
    std::vector<AuditRecord> records;
    records.reserve(count);
    for (auto it = recent_.end() - static_cast<std::ptrdiff_t>(count); it != recent_.end(); ++it)
        records.push_back(**it);
    return records;
}

std::shared_ptr<AuditStream::Subscription> AuditStream::subscribe(size_t queue_capacity) {
    auto subscription = std::make_shared<Subscription>(queue_capacity);
    std::lock_guard lock(mutex_);
    if (closed_)
        subscription->close();
    else
        subscribers_.push_back(subscription);
    return subscription;
}

void AuditStream::close() {
    std::vector<std::weak_ptr<Subscription>> subscribers;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        subscribers.swap(subscribers_);
    }
    for (auto& weak : subscribers)
        if (auto subscriber = weak.lock())
            subscriber->close();
}

bool AuditStream::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

size_t AuditStream::subscribers() const {
    std::lock_guard lock(mutex_);
    return static_cast<size_t>(std::count_if(subscribers_.begin(), subscribers_.end(),
                                             [](const auto& weak) { return !weak.expired(); }));
}

void stream_json_lines(AuditStream& stream, LineWriter& writer, std::chrono::milliseconds poll,
                       size_t queue_capacity) {
    // A burst goes out in writes of up to this much rather than one send per record.
    constexpr size_t kBatchBytes = 64 * 1024;
    auto subscription = stream.subscribe(queue_capacity);
    uint64_t reported_drops = 0;
    std::string batch;
    while (writer.alive()) {
        auto record = subscription->next(poll);
        while (record) {
            // Checked before each record so the drop line sits where the gap is.
            if (uint64_t dropped = subscription->dropped(); dropped > reported_drops) {
                batch += R"({"dropped":)" + std::to_string(dropped - reported_drops) + "}\n";
                reported_drops = dropped;
            }
            batch += to_json_line(*record);
            if (batch.size() >= kBatchBytes)
                break;
            record = subscription->next(std::chrono::milliseconds(0));
        }
        if (!batch.empty()) {
            if (!writer.write(batch))
                return;
            batch.clear();
        } else if (subscription->closed()) {
            return; // closed and drained
        }
    }
}

} // namespace flowwall::audit
