// SPDX-License-Identifier: Apache-2.0
// What flowwall reads of a CRI pod sandbox and its containers, how a pod is named, and how it
// becomes a Workload. Pure functions over the generated CRI messages, no I/O: the unit tests
// and the fuzz target feed them what a runtime could send, including nonsense.
//
// Nothing here throws; a missing or malformed field becomes an Error or a problem line that
// names it, and the pod is left out or reported with what could be read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cri_api.pb.h"
#include "src/common/ip_address.h"
#include "src/common/result.h"
#include "src/identity/pod_naming.h"
#include "src/identity/workload.h"

namespace flowwall::identity::cri {

struct PodContainer {
    std::string id;
    std::string name;  // metadata.name, the container name of the pod spec
    std::string image; // ContainerStatus.image.image, e.g. "docker.io/library/mysql:5.7"
    int64_t created_ns = 0;
    int64_t started_ns = 0;

    bool operator==(const PodContainer&) const = default;
};

struct PodInfo {
    std::string id; // sandbox id
    std::string name;
    std::string namespace_name;
    std::string uid;
    std::map<std::string, std::string> labels;
    bool ready = false;
    bool host_network = false;
    int64_t created_ns = 0;
    std::string netns_path; // from the verbose info; empty when the runtime did not say
    std::vector<IpAddress> addresses;
    std::vector<PodContainer> containers; // running application containers, oldest first
    // Fields that could not be read and were left out ("ip \"x\" is not an address"), for
    // the source to log; the pod is still reported with the rest.
    std::vector<std::string> problems;

    bool operator==(const PodInfo&) const = default;
};

// The sandbox part of a PodSandboxStatus answer (verbose for the netns path). An Error when
// the answer names no sandbox (no status, no id, no metadata).
Result<PodInfo> parse_pod_sandbox_status(const runtime::v1::PodSandboxStatusResponse& response);

// The network namespace path in a verbose PodSandboxStatus' info["info"] JSON: the runtime
// spec's network namespace (containerd, CRI-O), else /proc/<pid>/ns/net. Empty when
// neither is there; an Error only when the JSON itself is broken.
Result<std::string> netns_from_verbose_info(std::string_view info_json);

// One container of a ContainerStatus answer (verbose: the image as kubelet asked for it);
// an Error when it has no id.
Result<PodContainer> parse_container_status(const runtime::v1::ContainerStatusResponse& response);

// The pod's identity name under `naming`. `unknown` when it has no container to name it by
// and the label does not name it.
std::string pod_identity(const PodInfo& pod, const PodNaming& naming);

// The Workload a pod is, or nullopt (with the reason in *why_not) when flowwall has nothing
// to guard: not ready, host network (it is the node itself, as with Docker's host mode), no
// running application container yet, no network namespace to enter, or no address.
std::optional<Workload> to_workload(const PodInfo& pod, const PodNaming& naming,
                                    std::string* why_not = nullptr);

} // namespace flowwall::identity::cri
