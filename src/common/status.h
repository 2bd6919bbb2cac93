// Errors as values at module boundaries: Expected<T> holds either a T or an Error.
// std::expected is C++23; this is the small subset the project needs, in C++20.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace spectrum {

// What went wrong, coarse enough for a caller to map onto an exit code or an HTTP status.
enum class ErrorCode {
  kInvalidArgument,   // bad settings, bad usage, hostile names
  kNotFound,          // no such file or object
  kUnsupported,       // decodable in principle, but not by us (e.g. 6 channels, format not built in)
  kCorruptInput,      // not audio, truncated, undecodable
  kTooLarge,          // over a size or duration limit
  kIoError,           // local read/write failure
  kUnavailable,       // remote storage unreachable, over capacity, shutting down
  kTimeout,           // remote storage did not answer in time
  kPermissionDenied,  // bad token or signature
  kCancelled,         // the caller asked us to stop
  kInternal,          // a bug; the message is for logs, never for clients
};

const char* to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const& { return std::get<1>(state_); }
  [[nodiscard]] Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

// Success or an Error, for operations with no value.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const Error& error() const& { return *error_; }
  [[nodiscard]] Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Expected<void>;

}  // namespace spectrum

// Propagate an error from an Expected/Status-returning call: SPECTRUM_TRY(status_expr);
#define SPECTRUM_TRY(expr)                                                                                         \
  do {                                                                                                             \
    if (auto spectrum_try_result_ = (expr); !spectrum_try_result_) return std::move(spectrum_try_result_).error(); \
  } while (false)
