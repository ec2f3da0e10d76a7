// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/deny_sets.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "src/common/unique_fd.h"
#include "src/datapath/map_keys.h"

namespace flowwall::datapath {

struct DenySets::Generation {
    UniqueFd prefixes;
    UniqueFd filter;
    UniqueFd lengths;
    uint32_t prefix_capacity = 0;
    bool has_entries = false;
};

namespace {

constexpr uint32_t kV6FilterBits = 1u << FW_DENY_V6_FILTER_LOG;
constexpr uint32_t kV6LengthsSlots = 1u << FW_DENY_V6_LENGTHS_LOG;
// A short IPv6 prefix covers more /32s than this: it marks every IPv6 bit and slot instead
// of visiting them one by one (they would all be hit anyway).
constexpr uint64_t kV6ExpandLimit = 1u << 20;

uint32_t top_word(const IpAddress& address) {
    return (uint32_t{address.bytes[0]} << 24) | (uint32_t{address.bytes[1]} << 16) |
           (uint32_t{address.bytes[2]} << 8) | address.bytes[3];
}

// The bits of the filter and of the lengths array that `prefix` touches.
class FilterBuilder {
public:
    FilterBuilder(std::vector<uint64_t>& filter, std::vector<fw_deny_lengths>& lengths)
        : filter_(filter), lengths_(lengths) {}

    void add(const IpPrefix& prefix) {
        const uint32_t top = top_word(prefix.address);
        const uint32_t len = prefix.length;
        if (prefix.address.is_ipv4()) {
            // /24 blocks in the filter, /16 blocks in the lengths.
            uint64_t blocks = len >= 24 ? 1 : uint64_t{1} << (24 - len);
            for (uint64_t i = 0; i < blocks; ++i)
                set_filter_bit(fw_deny_filter_bit(FW_FAMILY_IPV4, top) + static_cast<uint32_t>(i));
            uint64_t slots = len >= 16 ? 1 : uint64_t{1} << (16 - len);
            for (uint64_t i = 0; i < slots; ++i)
                set_length(fw_deny_lengths_slot(FW_FAMILY_IPV4, top) + static_cast<uint32_t>(i),
                           len);
            return;
        }
        uint64_t blocks = len >= 32 ? 1 : uint64_t{1} << (32 - len); // /32s
        if (blocks >= kV6ExpandLimit) {
            for (uint32_t i = 0; i < kV6FilterBits; ++i)
                set_filter_bit(FW_DENY_V4_FILTER_BITS + i);
            for (uint32_t i = 0; i < kV6LengthsSlots; ++i)
                set_length((1u << 16) + i, len);
            return;
        }
        for (uint64_t i = 0; i < blocks; ++i) {
            uint32_t block = top + static_cast<uint32_t>(i);
            set_filter_bit(fw_deny_filter_bit(FW_FAMILY_IPV6, block));
            set_length(fw_deny_lengths_slot(FW_FAMILY_IPV6, block), len);
        }
    }

private:
    void set_filter_bit(uint32_t bit) { filter_[bit / 64] |= uint64_t{1} << (bit % 64); }
    void set_length(uint32_t slot, uint32_t len) {
        lengths_[slot].bits[len / 64] |= uint64_t{1} << (len % 64);
    }

    std::vector<uint64_t>& filter_;
    std::vector<fw_deny_lengths>& lengths_;
};

Status check_entry(const DenyEntry& entry) {
    auto name = entry.prefix.to_string();
    if (entry.lists.inbound == 0 && entry.lists.outbound == 0)
        return Error{EINVAL, "deny entry " + name + " names no list in either direction"};
    if (entry.lists.inbound > kMaxDenyListId || entry.lists.outbound > kMaxDenyListId)
        return Error{EINVAL, "deny entry " + name + ": list ids go from 1 to " +
                                 std::to_string(kMaxDenyListId)};
    if (entry.prefix.length > entry.prefix.address.max_prefix_length())
        return Error{EINVAL, "deny entry " + name + ": prefix longer than its address"};
    return {};
}

fw_deny_value deny_value_of(const DenyLists& lists) {
    return fw_deny_value{lists.inbound, lists.outbound};
}

Result<UniqueFd> create_map(bpf_map_type type, const char* name, uint32_t key_size,
                            uint32_t value_size, uint32_t max_entries, uint32_t flags) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
    int fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
    if (fd < 0)
        return Error::from_errno(errno, std::string("create deny map ") + name + " (" +
                                            std::to_string(max_entries) + " entries)");
    return UniqueFd(fd);
}

// Writes the non-zero elements of an array map (a new array is all zero).
template <typename Value>
Status write_nonzero(int fd, const std::vector<Value>& values, const char* what) {
    std::vector<uint32_t> keys;
    std::vector<Value> nonzero;
    const Value zero{};
    for (uint32_t i = 0; i < values.size(); ++i) {
        if (std::memcmp(&values[i], &zero, sizeof(Value)) != 0) {
            keys.push_back(i);
            nonzero.push_back(values[i]);
        }
    }
    if (keys.empty())
        return {};
    uint32_t count = static_cast<uint32_t>(keys.size());
    if (bpf_map_update_batch(fd, keys.data(), nonzero.data(), &count, nullptr) != 0)
        return Error::from_errno(errno, std::string("fill deny ") + what);
    return {};
}

template <typename Value>
Result<std::vector<Value>> read_array(int fd, uint32_t size, const char* what) {
    std::vector<uint32_t> keys(size);
    std::vector<Value> values(size);
    uint32_t out = 0, count = size;
    int err = bpf_map_lookup_batch(fd, nullptr, &out, keys.data(), values.data(), &count, nullptr);
    if ((err != 0 && errno != ENOENT) || count != size)
        return Error::from_errno(errno, std::string("read deny ") + what);
    return values;
}

Status put_entries(int fd, const std::vector<DenyEntry>& entries, uint32_t capacity) {
    if (entries.empty())
        return {};
    std::vector<fw_cidr_key> keys;
    std::vector<fw_deny_value> values;
    keys.reserve(entries.size());
    values.reserve(entries.size());
    for (const auto& entry : entries) {
        keys.push_back(cidr_key(entry.prefix));
        values.push_back(deny_value_of(entry.lists));
    }
    uint32_t count = static_cast<uint32_t>(keys.size());
    if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) != 0)
        return map_update_error("deny prefixes", errno, capacity);
    return {};
}

// Waits until every program that may have read the old generation's slot number has
// finished: the programs run inside RCU read-side sections, and MEMBARRIER_CMD_GLOBAL waits
// for an RCU grace period.
void wait_for_running_programs() {
    syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
}

uint32_t map_id(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        return 0;
    return info.id;
}

uint64_t memlock_of(int fd) {
    std::ifstream fdinfo("/proc/self/fdinfo/" + std::to_string(fd));
    std::string field;
    while (fdinfo >> field) {
        if (field == "memlock:") {
            uint64_t bytes = 0;
            fdinfo >> bytes;
            return bytes;
        }
    }
    return 0;
}

Result<UniqueFd> inner_map(int outer_fd, uint32_t slot) {
    uint32_t id = 0;
    if (bpf_map_lookup_elem(outer_fd, &slot, &id) != 0)
        return Error::from_errno(errno, "no deny generation in slot " + std::to_string(slot));
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0)
        return Error::from_errno(errno, "open deny map " + std::to_string(id));
    return UniqueFd(fd);
}

} // namespace

Result<DenyMaps> deny_maps_in(bpf_object* object) {
    auto find = [object](const char* name) -> Result<bpf_map*> {
        bpf_map* map = bpf_object__find_map_by_name(object, name);
        if (map == nullptr || bpf_map__fd(map) < 0)
            return Error{EINVAL, std::string("abi.h names deny map ") + name +
                                     " but the loaded object has none: rebuild both"};
        return map;
    };
    DenyMaps maps;
    for (auto [name, fd] : {std::pair{FW_MAP_DENY_CONTROL, &maps.control_fd},
                            {FW_MAP_DENY_PREFIXES, &maps.prefixes_fd},
                            {FW_MAP_DENY_FILTER, &maps.filter_fd},
                            {FW_MAP_DENY_LENGTHS, &maps.lengths_fd}}) {
        auto map = find(name);
        if (!map)
            return map.error();
        *fd = bpf_map__fd(map.value());
    }
    auto allow = find(FW_MAP_DENY_ALLOW);
    if (!allow)
        return allow.error();
    auto stats = find(FW_MAP_DENY_STATS);
    if (!stats)
        return stats.error();
    maps.allow = typed_view<fw_cidr_key, uint32_t>(allow.value());
    maps.stats = PerCpuArray<fw_counter_value>(bpf_map__fd(stats.value()), FW_MAP_DENY_STATS);
    return maps;
}

DenySets::DenySets(std::vector<DenyMaps> targets) {
    std::set<uint32_t> seen;
    for (auto& target : targets) {
        if (seen.insert(map_id(target.control_fd)).second)
            targets_.push_back(std::move(target));
    }
}

Result<DenySets::Generation> DenySets::build(const std::vector<DenyEntry>& entries,
                                             std::size_t headroom) const {
    std::unordered_set<std::string> seen;
    seen.reserve(entries.size());
    std::vector<uint64_t> filter(FW_DENY_FILTER_WORDS);
    std::vector<fw_deny_lengths> lengths(FW_DENY_LENGTHS_SLOTS);
    FilterBuilder bits(filter, lengths);
    for (const auto& entry : entries) {
        if (auto status = check_entry(entry); !status)
            return status.error();
        auto key = cidr_key(entry.prefix);
        if (!seen.emplace(reinterpret_cast<const char*>(&key), sizeof(key)).second)
            return Error{EINVAL, "deny prefix " + entry.prefix.to_string() + " given twice"};
        bits.add(entry.prefix);
    }

    Generation generation;
    generation.prefix_capacity =
        static_cast<uint32_t>(std::max<std::size_t>(entries.size() + headroom, 1));
    auto prefixes =
        create_map(BPF_MAP_TYPE_HASH, "fw_dpfx_gen", sizeof(fw_cidr_key), sizeof(fw_deny_value),
                   generation.prefix_capacity, BPF_F_NO_PREALLOC);
    if (!prefixes)
        return prefixes.error();
    auto filter_map = create_map(BPF_MAP_TYPE_ARRAY, "fw_dfilt_gen", sizeof(uint32_t),
                                 sizeof(uint64_t), FW_DENY_FILTER_WORDS, 0);
    if (!filter_map)
        return filter_map.error();
    auto lengths_map = create_map(BPF_MAP_TYPE_ARRAY, "fw_dlens_gen", sizeof(uint32_t),
                                  sizeof(fw_deny_lengths), FW_DENY_LENGTHS_SLOTS, 0);
    if (!lengths_map)
        return lengths_map.error();
    generation.prefixes = std::move(prefixes).value();
    generation.filter = std::move(filter_map).value();
    generation.lengths = std::move(lengths_map).value();

    if (auto status = put_entries(generation.prefixes.get(), entries, generation.prefix_capacity);
        !status)
        return status.error();
    if (auto status = write_nonzero(generation.lengths.get(), lengths, "lengths"); !status)
        return status.error();
    if (auto status = write_nonzero(generation.filter.get(), filter, "filter"); !status)
        return status.error();
    generation.has_entries = !entries.empty();
    return generation;
}

Status DenySets::install(const Generation& generation) {
    // Into the idle slot of every object, then one flip each, then the old slot goes.
    std::vector<std::pair<const DenyMaps*, uint32_t>> old_slots;
    for (const auto& target : targets_) {
        uint32_t zero = 0;
        fw_deny_control control{};
        if (bpf_map_lookup_elem(target.control_fd, &zero, &control) != 0)
            return Error::from_errno(errno, "read " FW_MAP_DENY_CONTROL);
        const bool had_generation = (control.flags & FW_DENY_F_ACTIVE) != 0 ||
                                    inner_map(target.prefixes_fd, control.slot & 1).ok();
        uint32_t next = had_generation ? (control.slot & 1) ^ 1 : control.slot & 1;
        // Insert order: the programs look up the filter first, so it comes last.
        for (auto [outer, inner] : {std::pair{target.prefixes_fd, generation.prefixes.get()},
                                    {target.lengths_fd, generation.lengths.get()},
                                    {target.filter_fd, generation.filter.get()}}) {
            int value = inner;
            if (bpf_map_update_elem(outer, &next, &value, BPF_ANY) != 0)
                return Error::from_errno(errno, "install deny generation");
        }
        fw_deny_control flipped{next, generation.has_entries ? FW_DENY_F_ACTIVE : 0u};
        if (bpf_map_update_elem(target.control_fd, &zero, &flipped, BPF_ANY) != 0)
            return Error::from_errno(errno, "flip " FW_MAP_DENY_CONTROL);
        if (had_generation)
            old_slots.emplace_back(&target, next ^ 1);
    }
    if (old_slots.empty())
        return {};
    wait_for_running_programs();
    for (auto [target, slot] : old_slots) {
        for (int outer : {target->filter_fd, target->lengths_fd, target->prefixes_fd}) {
            if (bpf_map_delete_elem(outer, &slot) != 0 && errno != ENOENT)
                return Error::from_errno(errno, "remove old deny generation");
        }
    }
    return {};
}

Status DenySets::replace(const DenySnapshot& snapshot) {
    // Room for refreshes to grow the set in place before a rebuild is needed.
    auto generation =
        build(snapshot.entries, std::max<std::size_t>(snapshot.entries.size() / 4, 4096));
    if (!generation)
        return generation.error();
    return install(generation.value());
}

Result<DenySets::Generation> DenySets::live() const {
    if (targets_.empty())
        return Error{ENOENT, "no deny maps"};
    const auto& target = targets_.front();
    uint32_t zero = 0;
    fw_deny_control control{};
    if (bpf_map_lookup_elem(target.control_fd, &zero, &control) != 0)
        return Error::from_errno(errno, "read " FW_MAP_DENY_CONTROL);
    uint32_t slot = control.slot & 1;
    Generation generation;
    auto prefixes = inner_map(target.prefixes_fd, slot);
    auto filter = inner_map(target.filter_fd, slot);
    auto lengths = inner_map(target.lengths_fd, slot);
    if (!prefixes)
        return prefixes.error();
    if (!filter)
        return filter.error();
    if (!lengths)
        return lengths.error();
    generation.prefixes = std::move(prefixes).value();
    generation.filter = std::move(filter).value();
    generation.lengths = std::move(lengths).value();
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(generation.prefixes.get(), &info, &len) == 0)
        generation.prefix_capacity = info.max_entries;
    generation.has_entries = (control.flags & FW_DENY_F_ACTIVE) != 0;
    return generation;
}

std::vector<DenyEntry> DenySets::entries() const {
    std::vector<DenyEntry> out;
    auto generation = live();
    if (!generation)
        return out;
    TypedMap<fw_cidr_key, fw_deny_value> map(generation.value().prefixes.get(),
                                             FW_MAP_DENY_PREFIXES,
                                             generation.value().prefix_capacity);
    for (const auto& [key, value] : map.entries())
        out.push_back({prefix_of(key), DenyLists{value.inbound_list, value.outbound_list}});
    return out;
}

std::size_t DenySets::size() const {
    auto generation = live();
    if (!generation)
        return 0;
    return TypedMap<fw_cidr_key, fw_deny_value>(generation.value().prefixes.get(), "", 0).count();
}

std::optional<DenyLists> DenySets::lookup(const IpPrefix& prefix) const {
    auto generation = live();
    if (!generation)
        return std::nullopt;
    fw_cidr_key key = cidr_key(prefix);
    fw_deny_value value{};
    if (bpf_map_lookup_elem(generation.value().prefixes.get(), &key, &value) != 0)
        return std::nullopt;
    return DenyLists{value.inbound_list, value.outbound_list};
}

Status DenySets::rebuild_with(const DenyDiff& diff) {
    auto key_of = [](const IpPrefix& prefix) {
        auto key = cidr_key(prefix);
        return std::string(reinterpret_cast<const char*>(&key), sizeof(key));
    };
    std::map<std::string, DenyEntry> merged;
    for (auto& entry : entries())
        merged[key_of(entry.prefix)] = entry;
    for (const auto& entry : diff.put)
        merged[key_of(entry.prefix)] = entry;
    for (const auto& prefix : diff.erase)
        merged.erase(key_of(prefix));
    DenySnapshot snapshot;
    snapshot.entries.reserve(merged.size());
    for (auto& [key, entry] : merged)
        snapshot.entries.push_back(entry);
    return replace(snapshot);
}

Status DenySets::apply(const DenyDiff& diff) {
    for (const auto& entry : diff.put) {
        if (auto status = check_entry(entry); !status)
            return status;
    }
    auto generation = live();
    if (!generation)
        return rebuild_with(diff);
    const auto& live_generation = generation.value();

    // Puts: the prefix hash first (an entry found without its filter bit is simply not
    // found yet), then the bits, then the control flag.
    if (auto status =
            put_entries(live_generation.prefixes.get(), diff.put, live_generation.prefix_capacity);
        !status) {
        if (status.error().errnum == E2BIG || status.error().errnum == ENOSPC ||
            status.error().errnum == ENOMEM)
            return rebuild_with(diff); // the hash is full: a larger generation
        return status;
    }
    if (!diff.put.empty()) {
        auto filter =
            read_array<uint64_t>(live_generation.filter.get(), FW_DENY_FILTER_WORDS, "filter");
        if (!filter)
            return filter.error();
        auto lengths = read_array<fw_deny_lengths>(live_generation.lengths.get(),
                                                   FW_DENY_LENGTHS_SLOTS, "lengths");
        if (!lengths)
            return lengths.error();
        auto new_filter = filter.value();
        auto new_lengths = lengths.value();
        FilterBuilder bits(new_filter, new_lengths);
        for (const auto& entry : diff.put)
            bits.add(entry.prefix);
        // Only the words that changed; bits are only ever added here, so a program reading a
        // word while it is written sees the old bits or more.
        for (uint32_t i = 0; i < FW_DENY_LENGTHS_SLOTS; ++i) {
            if (std::memcmp(&new_lengths[i], &lengths.value()[i], sizeof(fw_deny_lengths)) != 0 &&
                bpf_map_update_elem(live_generation.lengths.get(), &i, &new_lengths[i], BPF_ANY))
                return Error::from_errno(errno, "update deny lengths");
        }
        for (uint32_t i = 0; i < FW_DENY_FILTER_WORDS; ++i) {
            if (new_filter[i] != filter.value()[i] &&
                bpf_map_update_elem(live_generation.filter.get(), &i, &new_filter[i], BPF_ANY))
                return Error::from_errno(errno, "update deny filter");
        }
        for (const auto& target : targets_) {
            uint32_t zero = 0;
            fw_deny_control control{};
            if (bpf_map_lookup_elem(target.control_fd, &zero, &control) != 0)
                return Error::from_errno(errno, "read " FW_MAP_DENY_CONTROL);
            if (!(control.flags & FW_DENY_F_ACTIVE)) {
                control.flags |= FW_DENY_F_ACTIVE;
                if (bpf_map_update_elem(target.control_fd, &zero, &control, BPF_ANY) != 0)
                    return Error::from_errno(errno, "update " FW_MAP_DENY_CONTROL);
            }
        }
    }
    // Erases last. Their filter and length bits stay until the next replace(): they cost a
    // lookup, never a verdict.
    for (const auto& prefix : diff.erase) {
        fw_cidr_key key = cidr_key(prefix);
        if (bpf_map_delete_elem(live_generation.prefixes.get(), &key) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "remove deny prefix " + prefix.to_string());
    }
    return {};
}

Status DenySets::set_allow(const std::vector<IpPrefix>& prefixes) {
    for (auto& target : targets_) {
        std::set<std::string> wanted;
        for (const auto& prefix : prefixes) {
            auto key = cidr_key(prefix);
            wanted.emplace(reinterpret_cast<const char*>(&key), sizeof(key));
            if (auto status = target.allow.update(key, 1); !status)
                return status;
        }
        for (const auto& [key, value] : target.allow.entries()) {
            if (!wanted.count(std::string(reinterpret_cast<const char*>(&key), sizeof(key)))) {
                if (auto status = target.allow.erase(key); !status)
                    return status;
            }
        }
    }
    return {};
}

std::vector<IpPrefix> DenySets::allow() const {
    std::vector<IpPrefix> out;
    if (targets_.empty())
        return out;
    for (const auto& [key, value] : targets_.front().allow.entries())
        out.push_back(prefix_of(key));
    return out;
}

std::map<uint16_t, fw_counter_value> DenySets::counters() const {
    std::map<uint16_t, fw_counter_value> out;
    for (const auto& target : targets_) {
        for (uint32_t list = 1; list < FW_DENY_MAX_LISTS; ++list) {
            fw_counter_value sum{};
            for (const auto& cpu : target.stats.lookup_per_cpu(list)) {
                sum.packets += cpu.packets;
                sum.bytes += cpu.bytes;
            }
            if (sum.packets == 0 && sum.bytes == 0)
                continue;
            auto& total = out[static_cast<uint16_t>(list)];
            total.packets += sum.packets;
            total.bytes += sum.bytes;
        }
    }
    return out;
}

Status DenySets::reset_counters(uint16_t list) {
    for (auto& target : targets_) {
        if (auto status = target.stats.reset(list); !status)
            return status;
    }
    return {};
}

uint64_t DenySets::kernel_memory_bytes() const {
    uint64_t bytes = 0;
    if (auto generation = live()) {
        bytes += memlock_of(generation.value().prefixes.get());
        bytes += memlock_of(generation.value().filter.get());
        bytes += memlock_of(generation.value().lengths.get());
    }
    for (const auto& target : targets_)
        bytes += memlock_of(target.allow.fd());
    return bytes;
}

} // namespace flowwall::datapath
