#include "cli/commands.h"

namespace spectrum::cli {

int exit_code_for(const Error& error) noexcept {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kNotFound:
      return kExitInputMissing;
    case ErrorCode::kUnsupported:
    case ErrorCode::kCorruptInput:
      return kExitBadInput;
    case ErrorCode::kIoError:
      return kExitOutput;
    case ErrorCode::kTooLarge:
      return kExitTooLarge;
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kPermissionDenied:
      return kExitUnavailable;
    case ErrorCode::kCancelled:
      return kExitInterrupted;
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace spectrum::cli
