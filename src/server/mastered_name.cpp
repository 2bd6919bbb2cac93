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
  std::string_view stem = input.substr(0, input.size() - extension.size());
  const std::string suffix = "_mastered" + std::string(new_extension.value_or(extension));
  // A last segment near the length limit loses the end of its stem, at a UTF-8 character boundary.
  const std::size_t slash = stem.rfind('/');
  const std::size_t segment_start = slash == std::string_view::npos ? 0 : slash + 1;
  if (stem.size() - segment_start + suffix.size() > storage::kMaxObjectSegmentBytes &&
      suffix.size() < storage::kMaxObjectSegmentBytes) {
    std::size_t end = segment_start + storage::kMaxObjectSegmentBytes - suffix.size();
    while (end > segment_start && (static_cast<unsigned char>(stem[end]) & 0xC0) == 0x80) --end;
    stem = stem.substr(0, end);
  }
  std::string name = std::string(stem) + suffix;
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
