// SPDX-License-Identifier: Apache-2.0
#include "src/identity/workload_source.h"

namespace flowwall::identity {

const char* to_string(SourceState state) {
    switch (state) {
    case SourceState::starting:
        return "starting";
    case SourceState::synced:
        return "synced";
    case SourceState::unavailable:
        return "unavailable";
    }
    return "invalid";
}

} // namespace flowwall::identity
