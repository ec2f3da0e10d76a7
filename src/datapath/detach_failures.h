// SPDX-License-Identifier: Apache-2.0
// A destructor cannot return an error: an attachment whose detach fails while it is being
// destroyed logs the failure and keeps it here, for whoever owns the process (daemon status,
// tests) to collect.
#pragma once

#include <vector>

#include "src/common/result.h"

namespace flowwall::datapath {

void record_detach_failure(Error error);

// The failures recorded since the last call.
std::vector<Error> take_detach_failures();

} // namespace flowwall::datapath
