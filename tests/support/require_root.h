// SPDX-License-Identifier: Apache-2.0
// Tests that load BPF programs or create namespaces need root. Outside CI they skip with a
// reason; in CI (CI set) they fail, so a run that could not test the datapath never passes.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#define FLOWWALL_REQUIRE_ROOT(why)                                                        \
    do {                                                                                  \
        if (::geteuid() != 0) {                                                           \
            if (std::getenv("CI") != nullptr)                                             \
                GTEST_FAIL() << "needs root: " << (why) << "; CI must run tests as root"; \
            GTEST_SKIP() << "needs root: " << (why);                                      \
        }                                                                                 \
    } while (0)
