#include "storage/storage.h"

namespace spectrum::storage {
// Placeholder until the local backend lands: accept nothing rather than everything.
Status validate_object_name(std::string_view /*name*/) {
  return make_error(ErrorCode::kInternal, "object name validation not implemented yet");
}
}  // namespace spectrum::storage
