// SPDX-License-Identifier: Apache-2.0
// The endpoints file: workloads that are not containers (VMs behind a veth, a legacy
// service, or a lab of network namespaces), declared by hand. Example in
// deploy/examples/endpoints.json:
//
//   {"endpoints": [
//     {"name": "web-1", "identity": "web", "netns": "/run/netns/web", "interfaces": ["eth0"],
//      "addresses": ["198.18.1.2", "fd00:198:18:1::2"]},
//     {"name": "legacy-db", "identity": "db", "host-interfaces": ["veth-db"],
//      "addresses": ["198.18.2.2"]}
//   ]}
//
// Keys of an endpoint:
//   name             required; unique in the file; letters, digits, '.', '_', '-'
//   identity         required; an identity name (identity_naming.h), not a reserved one
//                    (unknown, host, world) nor a CIDR entity (cidr:...)
//   netns            the workload's network namespace (absolute path, e.g. /run/netns/web)
//   interfaces       interfaces inside netns to guard; default: all but loopback
//   host-interfaces  interfaces in the host namespace leading to the workload
//   addresses        required, at least one; IPv4 or IPv6; no address in two endpoints
// An endpoint needs netns or host-interfaces (or both). Unknown keys are errors, so a typo
// does not silently leave a workload unguarded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/result.h"
#include "src/identity/workload.h"

namespace flowwall::identity {

inline constexpr const char* kEndpointsFileSource = "endpoints-file";

// Workloads keyed "file/<name>", source "endpoints-file", started_ns as given (the file's
// mtime, so that a newer file wins an address another workload also claims). Errors start
// with `origin` ("endpoints file /etc/flowwall/endpoints.json: endpoints[1] \"db\": ...").
Result<std::vector<Workload>> parse_endpoints_file(std::string_view json, const std::string& origin,
                                                   int64_t started_ns = 0);

} // namespace flowwall::identity
