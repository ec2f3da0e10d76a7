// SPDX-License-Identifier: Apache-2.0
#include "src/common/result.h"

#include <cstring>

namespace flowwall {

std::string Error::to_string() const {
    if (errnum == 0)
        return message;
    return message + ": " + std::strerror(errnum);
}

} // namespace flowwall
