// SPDX-License-Identifier: Apache-2.0
#include "src/datapath/prefilter_object.h"

#include <filesystem>
#include <system_error>

#include "prefilter.skel.h"
#include "src/datapath/object_loading.h"

namespace flowwall::datapath {
namespace {

struct SkeletonDeleter {
    void operator()(prefilter_bpf* skeleton) const { prefilter_bpf__destroy(skeleton); }
};

} // namespace

Result<std::unique_ptr<PrefilterObject>> PrefilterObject::load(const PrefilterOptions& options) {
    std::unique_ptr<prefilter_bpf, SkeletonDeleter> skeleton(prefilter_bpf__open());
    if (!skeleton)
        return Error::from_errno(errno, "open prefilter BPF object");

    if (!options.pin_dir.empty()) {
        if (auto status = pin_maps_by_name(skeleton->obj, options.pin_dir); !status)
            return status.error();
    }
    if (auto status = load_object(skeleton->obj, "prefilter (bpf/prefilter.bpf.c)"); !status)
        return status.error();
    if (!options.pin_dir.empty()) {
        // No conversions: an older fw_xstats (counters) is unpinned and starts again at 0.
        if (auto migrated = migrate_older_maps(skeleton->obj, options.pin_dir, {}); !migrated)
            return migrated.error();
        if (auto status = pin_programs(skeleton->obj, options.pin_dir); !status)
            return status.error();
        // The single deny trie of ABI 2 has no successor of its name (the deny lists replaced
        // it, bpf/lib/deny.h): nothing reads it any more, and it would stay pinned for ever.
        std::error_code ignored;
        std::filesystem::remove(options.pin_dir / "fw_deny_v1", ignored);
    }
    auto deny = deny_maps_in(skeleton->obj);
    if (!deny)
        return deny.error();
    return std::unique_ptr<PrefilterObject>(
        new PrefilterObject(skeleton.release(), options, std::move(deny).value()));
}

PrefilterObject::PrefilterObject(prefilter_bpf* skeleton, PrefilterOptions options, DenyMaps deny)
    : skeleton_(skeleton),
      options_(std::move(options)), maps_{std::move(deny),
                                          PerCpuArray<fw_counter_value>(
                                              bpf_map__fd(skeleton->maps.fw_xstats_v3),
                                              FW_MAP_XDP_STATS)} {}

PrefilterObject::~PrefilterObject() {
    prefilter_bpf__destroy(skeleton_);
}

int PrefilterObject::program_fd() const {
    return bpf_program__fd(skeleton_->progs.uplink_prefilter);
}

Status PrefilterObject::unpin() {
    if (options_.pin_dir.empty())
        return {};
    return unpin_object(skeleton_->obj, options_.pin_dir);
}

} // namespace flowwall::datapath
