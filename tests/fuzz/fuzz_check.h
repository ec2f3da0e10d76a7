// SPDX-License-Identifier: Apache-2.0
// What the fuzz targets assert beyond "no crash, no sanitizer report": every input is either
// accepted, with results that keep the documented promises, or refused with an error that
// says why. A broken promise aborts, which libFuzzer records as a crash with the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(condition, what)                                       \
    do {                                                                  \
        if (!(condition))                                                 \
            ::flowwall::fuzz::fail(#condition, what, __FILE__, __LINE__); \
    } while (0)

namespace flowwall::fuzz {

[[noreturn]] inline void fail(const char* condition, std::string_view what, const char* file,
                              int line) {
    std::fprintf(stderr, "fuzz check failed at %s:%d: %s\n  %.*s\n", file, line, condition,
                 static_cast<int>(what.size()), what.data());
    std::abort();
}

inline bool is_one_line(std::string_view text) {
    return text.find_first_of("\r\n") == std::string_view::npos;
}

// The input as the text the parsers read.
inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Deterministic pseudo-random numbers from the input itself, for choices a target makes
// (where to split a stream), so that a crash replays exactly from its input file.
class InputRandom {
public:
    InputRandom(const uint8_t* data, size_t size) : state_(0x9e3779b97f4a7c15ull ^ size) {
        for (size_t i = 0; i < size && i < 16; ++i)
            state_ = state_ * 1099511628211ull + data[i];
        state_ |= 1; // xorshift never leaves zero
    }
    uint64_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        return state_;
    }
    size_t below(size_t bound) { return bound == 0 ? 0 : static_cast<size_t>(next() % bound); }

private:
    uint64_t state_;
};

} // namespace flowwall::fuzz
