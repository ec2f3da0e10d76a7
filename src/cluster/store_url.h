// SPDX-License-Identifier: Apache-2.0
// --cluster-store's value. Apart from the etcd client so that the configuration (and its
// fuzzer) checks it without linking gRPC.
#pragma once

#include "src/common/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace flowwall::cluster {

// "etcd://198.18.0.1:2379,198.18.0.2:2379" -> {"198.18.0.1:2379", "198.18.0.2:2379"}.
Result<std::vector<std::string>> parse_store_url(std::string_view url);

} // namespace flowwall::cluster
