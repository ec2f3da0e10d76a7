// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/object_loading.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>

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

} // namespace

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
