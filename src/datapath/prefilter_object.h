// SPDX-License-Identifier: Apache-2.0
// Owner of the XDP prefilter object (bpf/prefilter.bpf.c): the deny maps (written through
// DenySets) and the counters.
#pragma once

#include <filesystem>
#include <memory>

#include "flowwall/abi.h"
#include "src/common/result.h"
#include "src/datapath/counters.h"
#include "src/datapath/deny_sets.h"
#include "src/datapath/typed_map.h"

struct prefilter_bpf;

namespace flowwall::datapath {

struct PrefilterOptions {
    std::filesystem::path pin_dir; // empty: nothing pinned
};

struct PrefilterMaps {
    DenyMaps deny; // shared with the firewall object when both are pinned in one directory
    PerCpuArray<fw_counter_value> stats;
};

class PrefilterObject {
public:
    static Result<std::unique_ptr<PrefilterObject>> load(const PrefilterOptions& options);
    ~PrefilterObject();
    PrefilterObject(const PrefilterObject&) = delete;
    PrefilterObject& operator=(const PrefilterObject&) = delete;

    int program_fd() const;
    PrefilterMaps& maps() { return maps_; }
    Status unpin();

private:
    PrefilterObject(prefilter_bpf* skeleton, PrefilterOptions options, DenyMaps deny);

    prefilter_bpf* skeleton_;
    PrefilterOptions options_;
    PrefilterMaps maps_;
};

} // namespace flowwall::datapath
