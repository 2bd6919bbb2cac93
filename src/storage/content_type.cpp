#include "storage/content_type.h"

#include <array>
#include <cctype>
#include <string>

#include "common/text.h"

namespace spectrum::storage {
namespace {

struct TypeByExtension {
  std::string_view extension;
  std::string_view content_type;
};

// First match wins in both directions, so the preferred spelling of each type comes first.
constexpr std::array kTypes{
    TypeByExtension{".wav", "audio/wav"},     TypeByExtension{".mp3", "audio/mpeg"},
    TypeByExtension{".flac", "audio/flac"},   TypeByExtension{".m4a", "audio/mp4"},
    TypeByExtension{".aac", "audio/aac"},     TypeByExtension{".ogg", "audio/ogg"},
    TypeByExtension{".opus", "audio/opus"},   TypeByExtension{".aiff", "audio/aiff"},
    TypeByExtension{".aif", "audio/aiff"},    TypeByExtension{".wav", "audio/x-wav"},
    TypeByExtension{".wav", "audio/wave"},    TypeByExtension{".flac", "audio/x-flac"},
    TypeByExtension{".m4a", "audio/x-m4a"},   TypeByExtension{".mp3", "audio/mp3"},
    TypeByExtension{".aiff", "audio/x-aiff"},
};

}  // namespace

std::string_view content_type_for_name(std::string_view name) noexcept {
  const auto slash = name.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const auto dot = last.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  const std::string extension = ascii_lower(last.substr(dot));
  for (const auto& t : kTypes)
    if (t.extension == extension) return t.content_type;
  return "application/octet-stream";
}

std::string_view extension_for_content_type(std::string_view content_type) noexcept {
  const std::string type = ascii_lower(content_type.substr(0, content_type.find(';')));
  std::string_view trimmed = type;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  for (const auto& t : kTypes)
    if (t.content_type == trimmed) return t.extension;
  return "";
}

}  // namespace spectrum::storage
