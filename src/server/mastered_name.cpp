#include "server/mastered_name.h"

#include "storage/storage.h"

namespace spectrum::server {

std::string_view extension_of_name(std::string_view name) noexcept {
  const std::size_t slash = name.rfind('/');
  const std::size_t segment_start = slash == std::string_view::npos ? 0 : slash + 1;
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot <= segment_start) return {};
  return name.substr(dot);
}

Expected<std::string> mastered_object_name(std::string_view input, std::optional<std::string_view> new_extension) {
  SPECTRUM_TRY(storage::validate_object_name(input));
  const std::string_view extension = extension_of_name(input);
  const std::string_view stem = input.substr(0, input.size() - extension.size());
  std::string name = std::string(stem) + "_mastered" + std::string(new_extension.value_or(extension));
  if (auto valid = storage::validate_object_name(name); !valid) {
    return make_error(ErrorCode::kInvalidArgument, "the mastered name of '" + std::string(input) +
                                                       "' is not a valid object name: " + valid.error().message);
  }
  if (name == input) {
    return make_error(ErrorCode::kInvalidArgument, "the mastered name would overwrite the input object");
  }
  return name;
}

}  // namespace spectrum::server
