#include "server/api_error.h"

namespace spectrum::server {

ApiError api_error_from_engine(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return {400, error.message, error.message};
    case ErrorCode::kNotFound:
      return {404, "input not found", error.message};
    case ErrorCode::kTooLarge:
      return {413, error.message, error.message};
    case ErrorCode::kCorruptInput:
      return {422, "the input is not decodable audio: " + error.message, error.message};
    case ErrorCode::kUnsupported:
      return {422, "the input is not supported: " + error.message, error.message};
    case ErrorCode::kUnavailable:
      return {503, "the service is unavailable; try again later", error.message};
    case ErrorCode::kCancelled:
      return {503, "the job was stopped because the service is shutting down", error.message};
    case ErrorCode::kTimeout:
      return {504, "the job timed out", error.message};
    case ErrorCode::kIoError:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kInternal:
      break;
  }
  return {500, "internal error", error.message};
}

ApiError api_error_from_storage(const Error& error, const std::string& what) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return {400, what + ": " + error.message, error.message};
    case ErrorCode::kNotFound:
      return {404, what + " not found", error.message};
    case ErrorCode::kTooLarge:
      return {413, what + " is too large", error.message};
    case ErrorCode::kTimeout:
      return {504, "storage did not answer in time", error.message};
    default:
      break;
  }
  return {502, "storage failure", error.message};
}

const char* default_message(int status) noexcept {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "missing or invalid API token";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 408:
      return "request timeout";
    case 413:
      return "request too large";
    case 414:
      return "request URI too long";
    case 415:
      return "unsupported media type";
    case 416:
      return "range not satisfiable";
    case 429:
      return "too many requests";
    case 431:
      return "request headers too large";
    case 503:
      return "service unavailable";
    default:
      break;
  }
  return status >= 500 ? "internal error" : "request failed";
}

}  // namespace spectrum::server
