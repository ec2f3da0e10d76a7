// SPDX-License-Identifier: Apache-2.0
// Owner of the XDP prefilter object (bpf/prefilter.bpf.c): the deny prefixes and their
// counters.
#pragma once

#include <filesystem>
#include <memory>

#include "flowwall/abi.h"
#include "src/common/result.h"
#include "src/datapath/counters.h"
#include "src/datapath/typed_map.h"

struct prefilter_bpf;

namespace flowwall::datapath {

struct PrefilterOptions {
    std::filesystem::path pin_dir; // empty: nothing pinned
    uint32_t deny_entries = FW_DEFAULT_DENY_ENTRIES;
};

struct PrefilterMaps {
    TypedMap<fw_cidr_key, uint32_t> deny; // prefix -> id of the list that names it
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
    PrefilterObject(prefilter_bpf* skeleton, PrefilterOptions options);

    prefilter_bpf* skeleton_;
    PrefilterOptions options_;
    PrefilterMaps maps_;
};

} // namespace flowwall::datapath
