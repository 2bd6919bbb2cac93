// How errors become HTTP answers: a status, a message safe to show the client, and detail for logs only.
#pragma once

#include <string>

#include "common/status.h"

namespace spectrum::server {

struct ApiError {
  int status = 500;
  std::string message;  // sent to the client
  std::string detail;   // logged, never sent
};

// Engine errors: kInvalidArgument 400, kNotFound 404, kTooLarge 413, kCorruptInput/kUnsupported 422,
// kUnavailable/kCancelled 503, kTimeout 504, anything else 500 with a generic message.
ApiError api_error_from_engine(const Error& error);

// Storage errors, `what` naming the object's role ("input object", "reference object", ...):
// kInvalidArgument 400, kNotFound 404, kTooLarge 413, kTimeout 504, everything else 502.
ApiError api_error_from_storage(const Error& error, const std::string& what);

// A generic message for a status, used when a response has no body of its own.
const char* default_message(int status) noexcept;

}  // namespace spectrum::server
