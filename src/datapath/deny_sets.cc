// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/deny_sets.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "src/common/unique_fd.h"
#include "src/datapath/map_keys.h"
#include "src/datapath/mapped_array.h"

namespace flowwall::datapath {

struct DenySets::Generation {
    UniqueFd prefixes; // the inner hash
    uint32_t prefix_capacity = 0;
};

struct DenySets::Target {
    DenyMaps maps;
    MappedArray filter;  // FW_DENY_SLOTS halves of FW_DENY_FILTER_WORDS words
    MappedArray lengths; // FW_DENY_SLOTS halves of FW_DENY_LENGTHS_SLOTS entries
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

// Sets the bits of the filter and of the lengths array (one generation's half of each) that
// `prefix` touches. Atomic ORs: the programs may read the live half while apply() adds to it,
// and a word read while it is written then holds the old bits or more.
class FilterBuilder {
public:
    FilterBuilder(std::span<uint64_t> filter, std::span<fw_deny_lengths> lengths)
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
    void set_filter_bit(uint32_t bit) {
        uint64_t mask = uint64_t{1} << (bit % 64);
        if (!(filter_[bit / 64] & mask))
            __atomic_fetch_or(&filter_[bit / 64], mask, __ATOMIC_RELAXED);
    }
    void set_length(uint32_t slot, uint32_t len) {
        __u64& word = lengths_[slot].bits[len / 64];
        __u64 mask = __u64{1} << (len % 64);
        if (!(word & mask))
            __atomic_fetch_or(&word, mask, __ATOMIC_RELAXED);
    }

    std::span<uint64_t> filter_;
    std::span<fw_deny_lengths> lengths_;
};

std::span<uint64_t> filter_half(const MappedArray& filter, uint32_t slot) {
    return filter.as<uint64_t>().subspan(std::size_t{slot} * FW_DENY_FILTER_WORDS,
                                         FW_DENY_FILTER_WORDS);
}

std::span<fw_deny_lengths> lengths_half(const MappedArray& lengths, uint32_t slot) {
    return lengths.as<fw_deny_lengths>().subspan(std::size_t{slot} * FW_DENY_LENGTHS_SLOTS,
                                                 FW_DENY_LENGTHS_SLOTS);
}

Result<fw_deny_control> read_control(int control_fd) {
    uint32_t zero = 0;
    fw_deny_control control{};
    if (bpf_map_lookup_elem(control_fd, &zero, &control) != 0)
        return Error::from_errno(errno, "read " FW_MAP_DENY_CONTROL);
    control.slot &= 1;
    return control;
}

Status write_control(int control_fd, const fw_deny_control& control) {
    uint32_t zero = 0;
    if (bpf_map_update_elem(control_fd, &zero, &control, BPF_ANY) != 0)
        return Error::from_errno(errno, "update " FW_MAP_DENY_CONTROL);
    return {};
}

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
    for (auto& maps : targets) {
        if (seen.insert(map_id(maps.control_fd)).second) {
            auto target = std::make_unique<Target>();
            target->maps = std::move(maps);
            targets_.push_back(std::move(target));
        }
    }
}

DenySets::DenySets(DenySets&&) noexcept = default;
DenySets& DenySets::operator=(DenySets&&) noexcept = default;
DenySets::~DenySets() = default;

Status DenySets::map_arrays() {
    for (auto& target : targets_) {
        if (!target->filter.mapped()) {
            auto filter = MappedArray::map(target->maps.filter_fd,
                                           sizeof(uint64_t) * FW_DENY_SLOTS * FW_DENY_FILTER_WORDS,
                                           FW_MAP_DENY_FILTER);
            if (!filter)
                return filter.error();
            target->filter = std::move(filter).value();
        }
        if (!target->lengths.mapped()) {
            auto lengths =
                MappedArray::map(target->maps.lengths_fd,
                                 sizeof(fw_deny_lengths) * FW_DENY_SLOTS * FW_DENY_LENGTHS_SLOTS,
                                 FW_MAP_DENY_LENGTHS);
            if (!lengths)
                return lengths.error();
            target->lengths = std::move(lengths).value();
        }
    }
    return {};
}

Result<DenySets::Generation> DenySets::build(const std::vector<DenyEntry>& entries,
                                             std::size_t headroom) const {
    // Duplicates: sorted keys side by side (a hash set of a million keys takes longer).
    std::vector<std::pair<fw_cidr_key, std::size_t>> keys;
    keys.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (auto status = check_entry(entries[i]); !status)
            return status.error();
        keys.emplace_back(cidr_key(entries[i].prefix), i);
    }
    auto key_less = [](const auto& a, const auto& b) {
        return std::memcmp(&a.first, &b.first, sizeof(fw_cidr_key)) < 0;
    };
    std::sort(keys.begin(), keys.end(), key_less);
    for (std::size_t i = 1; i < keys.size(); ++i) {
        if (std::memcmp(&keys[i - 1].first, &keys[i].first, sizeof(fw_cidr_key)) == 0)
            return Error{EINVAL, "deny prefix " + entries[keys[i].second].prefix.to_string() +
                                     " given twice"};
    }

    Generation generation;
    generation.prefix_capacity =
        static_cast<uint32_t>(std::max<std::size_t>(entries.size() + headroom, 1));
    auto prefixes = create_map(BPF_MAP_TYPE_HASH, "fw_dpfx_gen", sizeof(fw_cidr_key),
                               sizeof(fw_deny_value), generation.prefix_capacity, 0);
    if (!prefixes)
        return prefixes.error();
    generation.prefixes = std::move(prefixes).value();
    if (auto status = put_entries(generation.prefixes.get(), entries, generation.prefix_capacity);
        !status)
        return status.error();
    return generation;
}

Status DenySets::install(const Generation& generation, const std::vector<DenyEntry>& entries) {
    // In every object: the idle generation's arrays and hash, then one flip each, then the
    // old hash goes once no program can be reading it.
    std::vector<std::pair<int, uint32_t>> old_slots; // outer map, slot
    for (auto& target : targets_) {
        auto control = read_control(target->maps.control_fd);
        if (!control)
            return control.error();
        const uint32_t next = control.value().slot ^ 1;
        // Nobody reads the idle half: the last flip waited for its readers to finish.
        auto filter = filter_half(target->filter, next);
        auto lengths = lengths_half(target->lengths, next);
        std::fill(filter.begin(), filter.end(), 0);
        std::fill(lengths.begin(), lengths.end(), fw_deny_lengths{});
        FilterBuilder bits(filter, lengths);
        for (const auto& entry : entries)
            bits.add(entry.prefix);
        int inner = generation.prefixes.get();
        if (bpf_map_update_elem(target->maps.prefixes_fd, &next, &inner, BPF_ANY) != 0)
            return Error::from_errno(errno, "install deny generation");
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (auto status = write_control(target->maps.control_fd,
                                        {next, entries.empty() ? 0u : FW_DENY_F_ACTIVE});
            !status)
            return status;
        old_slots.emplace_back(target->maps.prefixes_fd, next ^ 1);
    }
    wait_for_running_programs();
    for (auto [outer, slot] : old_slots) {
        if (bpf_map_delete_elem(outer, &slot) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "remove old deny generation");
    }
    return {};
}

Status DenySets::replace(const DenySnapshot& snapshot) {
    if (auto status = map_arrays(); !status)
        return status;
    // Room for refreshes to grow the set in place before a rebuild is needed (the hash is
    // preallocated: every slot costs memory and load time whether used or not).
    auto generation =
        build(snapshot.entries, std::max<std::size_t>(snapshot.entries.size() / 16, 4096));
    if (!generation)
        return generation.error();
    return install(generation.value(), snapshot.entries);
}

Result<DenySets::Generation> DenySets::live() const {
    if (targets_.empty())
        return Error{ENOENT, "no deny maps"};
    const auto& maps = targets_.front()->maps;
    auto control = read_control(maps.control_fd);
    if (!control)
        return control.error();
    auto prefixes = inner_map(maps.prefixes_fd, control.value().slot);
    if (!prefixes)
        return prefixes.error();
    Generation generation;
    generation.prefixes = std::move(prefixes).value();
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(generation.prefixes.get(), &info, &len) == 0)
        generation.prefix_capacity = info.max_entries;
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
        if (auto status = map_arrays(); !status)
            return status;
        for (auto& target : targets_) {
            auto control = read_control(target->maps.control_fd);
            if (!control)
                return control.error();
            FilterBuilder bits(filter_half(target->filter, control.value().slot),
                               lengths_half(target->lengths, control.value().slot));
            for (const auto& entry : diff.put)
                bits.add(entry.prefix);
            if (!(control.value().flags & FW_DENY_F_ACTIVE)) {
                std::atomic_thread_fence(std::memory_order_seq_cst);
                auto active = control.value();
                active.flags |= FW_DENY_F_ACTIVE;
                if (auto status = write_control(target->maps.control_fd, active); !status)
                    return status;
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
        auto& allow = target->maps.allow;
        std::set<std::string> wanted;
        for (const auto& prefix : prefixes) {
            auto key = cidr_key(prefix);
            wanted.emplace(reinterpret_cast<const char*>(&key), sizeof(key));
            if (auto status = allow.update(key, 1); !status)
                return status;
        }
        for (const auto& [key, value] : allow.entries()) {
            if (!wanted.count(std::string(reinterpret_cast<const char*>(&key), sizeof(key)))) {
                if (auto status = allow.erase(key); !status)
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
    for (const auto& [key, value] : targets_.front()->maps.allow.entries())
        out.push_back(prefix_of(key));
    return out;
}

std::map<uint16_t, fw_counter_value> DenySets::counters() const {
    std::map<uint16_t, fw_counter_value> out;
    for (const auto& target : targets_) {
        for (uint32_t list = 1; list < FW_DENY_MAX_LISTS; ++list) {
            fw_counter_value sum{};
            for (const auto& cpu : target->maps.stats.lookup_per_cpu(list)) {
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
        if (auto status = target->maps.stats.reset(list); !status)
            return status;
    }
    return {};
}

uint64_t DenySets::kernel_memory_bytes() const {
    uint64_t bytes = 0;
    if (auto generation = live())
        bytes += map_memory_bytes(generation.value().prefixes.get());
    for (const auto& target : targets_) {
        bytes += map_memory_bytes(target->maps.filter_fd);
        bytes += map_memory_bytes(target->maps.lengths_fd);
        bytes += map_memory_bytes(target->maps.allow.fd());
    }
    return bytes;
}

uint64_t map_memory_bytes(int fd) {
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

} // namespace flowwall::datapath
