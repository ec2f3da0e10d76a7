// SPDX-License-Identifier: Apache-2.0
// The project's error model: a value that carries errno and what was being done, so the caller
// decides whether to retry, report, or stop start-up (value_or_throw()). Every part of flowwall
// speaks it, so it lives in namespace flowwall itself.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace flowwall {

struct Error {
    int errnum = 0;      // errno, positive; 0 when the failure is not an OS error
    std::string message; // what failed and, where we know it, what to do about it

    static Error from_errno(int errnum, std::string message) {
        return Error{errnum < 0 ? -errnum : errnum, std::move(message)};
    }
    // "message: strerror(errnum)"
    std::string to_string() const;
};

// Thrown only where a failure must stop start-up: see Result::value_or_throw().
class FatalError : public std::runtime_error {
public:
    explicit FatalError(const Error& error)
        : std::runtime_error(error.to_string()), errnum_(error.errnum) {}
    int errnum() const { return errnum_; }

private:
    int errnum_;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}
    Result(Error error) : state_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<T>(state_); }
    T&& value() && { return std::get<T>(std::move(state_)); }
    const Error& error() const { return std::get<Error>(state_); }

    T value_or_throw() && {
        if (!ok())
            throw FatalError(error());
        return std::get<T>(std::move(state_));
    }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return error_; }

    void value_or_throw() const {
        if (failed_)
            throw FatalError(error_);
    }

private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

} // namespace flowwall
