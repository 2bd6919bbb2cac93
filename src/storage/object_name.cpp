// The object-name rules shared by every backend. A name is a key, never a path: these checks are what
// keep a local backend inside its root and keep hostile names out of logs and URLs.
#include <cstdint>
#include <string>

#include "storage/storage.h"

namespace spectrum::storage {
namespace {

constexpr std::size_t kMaxObjectNameBytes = 1024;
// Local storage keeps each segment (kMaxObjectSegmentBytes) as a file or folder name, which file systems cap at
// 255 bytes; the temporary file of an atomic write (".<name>.tmp-XXXXXX") needs the rest. Both backends apply
// it, so a name that works on a laptop works on GCS and the other way round.
constexpr std::size_t kMaxSegmentBytes = kMaxObjectSegmentBytes;

Status invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// Length of the UTF-8 sequence starting at `text[i]`, or 0 when it is not well formed
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinForLength[length]) return 0;            // overlong
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;  // surrogate
  if (code_point > 0x10FFFF) return 0;
  return length;
}

}  // namespace

Status validate_object_name(std::string_view name) {
  if (name.empty()) return invalid("object name must not be empty");
  if (name.size() > kMaxObjectNameBytes) {
    return invalid("object name must be at most 1024 bytes (got " + std::to_string(name.size()) + ")");
  }
  if (name.front() == '/') return invalid("object name must be relative (it starts with '/')");
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '\\') return invalid("object name must not contain a backslash");
    if (c == 0) return invalid("object name must not contain a NUL byte");
    if (c < 0x20 || c == 0x7F) return invalid("object name must not contain control characters");
    const std::size_t length = utf8_sequence_length(name, i);
    if (length == 0) return invalid("object name must be valid UTF-8");
    i += length;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    const std::string_view segment =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return invalid("object name must not contain empty segments ('//' or a trailing '/')");
    if (segment == "." || segment == "..") return invalid("object name must not contain '.' or '..' segments");
    if (segment.size() > kMaxSegmentBytes) {
      return invalid("each segment of an object name must be at most " + std::to_string(kMaxSegmentBytes) +
                     " bytes (got a segment of " + std::to_string(segment.size()) + ")");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

}  // namespace spectrum::storage
