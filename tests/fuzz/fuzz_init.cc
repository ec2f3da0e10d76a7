// SPDX-License-Identifier: Apache-2.0
// libFuzzer's start-up hook, linked into every target. Logging is not what is fuzzed, and at
// millions of inputs it only costs time.
#include <spdlog/spdlog.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    return 0;
}
