// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/object_loading.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <system_error>

#include "src/common/unique_fd.h"
#include "src/datapath/libbpf_log.h"

namespace flowwall::datapath {
namespace {

std::string hint_for_load_error(int errnum) {
    switch (errnum) {
    case EPERM:
        return " (not root? loading BPF programs needs CAP_BPF and CAP_NET_ADMIN, or root)";
    case EINVAL:
        return " (a pinned map with this name but another layout? run flowwalld --cleanup,"
               " or check that the kernel is 5.15 or newer)";
    default:
        return "";
    }
}

bool is_per_cpu(uint32_t type) {
    return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Copies what `migration` converts of the older map into `target`. Arrays always have every
// index, so there an entry is overwritten (user space writes its own values after load);
// elsewhere an entry the current map has already wins.
Result<size_t> copy_entries(int old_fd, const bpf_map_info& old_info, bpf_map* target,
                            const MapMigration& migration, const std::string& what) {
    if (is_per_cpu(old_info.type) || is_per_cpu(bpf_map__type(target)))
        return Error{EINVAL, "migrate " + what + ": per-CPU maps are not migrated"};
    const uint64_t flags = bpf_map__type(target) == BPF_MAP_TYPE_ARRAY ? BPF_ANY : BPF_NOEXIST;
    std::vector<uint8_t> key(old_info.key_size), next(old_info.key_size);
    std::vector<uint8_t> value(old_info.value_size);
    size_t copied = 0;
    bool first = true;
    // Bounded: old programs may still write to the map, so a key can come round twice.
    for (uint64_t step = 0; step <= uint64_t{old_info.max_entries} * 2; ++step) {
        if (::bpf_map_get_next_key(old_fd, first ? nullptr : key.data(), next.data()) != 0) {
            if (errno == ENOENT)
                break;
            return Error::from_errno(errno, "read the keys of " + what);
        }
        first = false;
        key.swap(next);
        if (::bpf_map_lookup_elem(old_fd, key.data(), value.data()) != 0) {
            if (errno == ENOENT)
                continue; // deleted meanwhile
            return Error::from_errno(errno, "read an entry of " + what);
        }
        auto entry = migration.convert(key, value);
        if (!entry)
            continue;
        if (entry->first.size() != bpf_map__key_size(target) ||
            entry->second.size() != bpf_map__value_size(target))
            return Error{EINVAL, "migrate " + what + ": the conversion gives " +
                                     std::to_string(entry->first.size()) + "/" +
                                     std::to_string(entry->second.size()) +
                                     "-byte entries, the map takes " +
                                     std::to_string(bpf_map__key_size(target)) + "/" +
                                     std::to_string(bpf_map__value_size(target))};
        if (::bpf_map_update_elem(bpf_map__fd(target), entry->first.data(), entry->second.data(),
                                  flags) != 0) {
            if (errno == EEXIST)
                continue;
            int err = errno;
            return Error::from_errno(
                err,
                "copy an entry of " + what + " into " + bpf_map__name(target) +
                    (err == E2BIG || err == ENOMEM ? " (it is full: raise its capacity)" : ""));
        }
        ++copied;
    }
    return copied;
}

// The entries of the older map pinned at `path`, converted into `target`.
Result<size_t> migrate_one(const std::filesystem::path& path, bpf_map* target,
                           const MapMigration& migration) {
    const std::string what = "the older map " + path.string();
    UniqueFd fd(::bpf_obj_get(path.c_str()));
    if (!fd.valid())
        return Error::from_errno(errno, "open " + what);
    bpf_map_info info{};
    uint32_t length = sizeof(info);
    if (::bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
        return Error::from_errno(errno, "inspect " + what + " (is it a map?)");
    return copy_entries(fd.get(), info, target, migration, what);
}

} // namespace

std::optional<std::pair<std::string, uint32_t>> split_map_version(const std::string& name) {
    auto at = name.rfind("_v");
    if (at == std::string::npos || at == 0 || at + 2 >= name.size())
        return std::nullopt;
    std::string_view digits = std::string_view(name).substr(at + 2);
    uint32_t version = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return std::pair{name.substr(0, at), version};
}

Result<std::vector<MigrationOutcome>> migrate_older_maps(bpf_object* object,
                                                         const std::filesystem::path& pin_dir,
                                                         std::span<const MapMigration> migrations) {
    std::vector<std::string> pinned;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(pin_dir, ec))
        if (!entry.is_directory(ec))
            pinned.push_back(entry.path().filename().string());
    if (ec)
        return Error::from_errno(ec.value(), "list the pins in " + pin_dir.string());

    std::vector<MigrationOutcome> outcomes;
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__is_internal(map))
            continue;
        auto current = split_map_version(bpf_map__name(map));
        if (!current)
            continue;
        for (const auto& name : pinned) {
            auto older = split_map_version(name);
            if (!older || older->first != current->first || older->second >= current->second)
                continue;
            MigrationOutcome outcome{.from = name, .to = bpf_map__name(map)};
            auto path = pin_dir / name;
            auto migration = std::find_if(migrations.begin(), migrations.end(), [&](const auto& m) {
                return m.family == older->first && m.from_version == older->second;
            });
            if (migration != migrations.end()) {
                auto copied = migrate_one(path, map, *migration);
                if (!copied)
                    return copied.error();
                outcome.copied = copied.value();
                outcome.converted = true;
            }
            // Only now: a crash before this line leaves the pin, and the next start copies
            // again (entries already copied stay as they are).
            if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                return Error::from_errno(errno, "unpin the older map " + path.string());
            outcomes.push_back(std::move(outcome));
        }
    }
    return outcomes;
}

Status pin_maps_by_name(bpf_object* object, const std::filesystem::path& pin_dir) {
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object) {
        // Skeleton-internal maps (.rodata, .bss) are per load and never shared.
        if (bpf_map__is_internal(map))
            continue;
        auto path = pin_dir / bpf_map__name(map);
        if (int err = bpf_map__set_pin_path(map, path.c_str()); err)
            return Error::from_errno(err, "set pin path " + path.string());
    }
    return {};
}

Status load_object(bpf_object* object, const std::string& what) {
    LibbpfLogCapture capture;
    int err = bpf_object__load(object);
    if (err == 0)
        return {};
    std::string log = capture.tail();
    std::string message = "load " + what + hint_for_load_error(-err);
    if (log.find("BEGIN PROG LOAD LOG") != std::string::npos)
        message = "verifier rejected program in " + what + ":\n" + log + "\n" + message;
    else if (!log.empty())
        message += "\nlibbpf said:\n" + log;
    return Error::from_errno(err, message);
}

Status pin_programs(bpf_object* object, const std::filesystem::path& pin_dir) {
    std::error_code ec;
    std::filesystem::create_directories(pin_dir / "programs", ec);
    if (ec)
        return Error::from_errno(ec.value(), "create " + (pin_dir / "programs").string());
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, object) {
        auto path = pin_dir / "programs" / bpf_program__name(program);
        ::unlink(path.c_str()); // a new build replaces the pin of the old one
        if (int err = bpf_program__pin(program, path.c_str()); err)
            return Error::from_errno(err, "pin program at " + path.string());
    }
    return {};
}

Status unpin_object(bpf_object* object, const std::filesystem::path& pin_dir) {
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, object) {
        auto path = pin_dir / "programs" / bpf_program__name(program);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "unpin " + path.string());
    }
    bpf_map* map = nullptr;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__is_internal(map))
            continue;
        auto path = pin_dir / bpf_map__name(map);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            return Error::from_errno(errno, "unpin " + path.string());
    }
    return {};
}

uint32_t program_id(int prog_fd) {
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    if (::bpf_obj_get_info_by_fd(prog_fd, &info, &length) != 0)
        return 0;
    return info.id;
}

} // namespace flowwall::datapath
