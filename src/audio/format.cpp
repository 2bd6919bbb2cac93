#include "audio/format.h"

#include "common/text.h"

namespace spectrum::audio {

std::optional<Format> format_from_name(std::string_view name) noexcept {
  if (!name.empty() && name.front() == '.') name.remove_prefix(1);
  for (const FormatTraits& t : kFormats) {
    if (iequals(name, t.name) || iequals(name, t.extension.substr(1))) return t.format;
    for (const std::string_view alias : t.aliases)
      if (!alias.empty() && iequals(name, alias)) return t.format;
  }
  return std::nullopt;
}

std::optional<Format> format_of_input(std::string_view demuxer, std::string_view codec, bool pcm) noexcept {
  for (const FormatTraits& t : kFormats) {
    if (pcm ? (t.codec.empty() && demuxer == t.muxer) : (!t.codec.empty() && codec == t.codec)) return t.format;
  }
  return std::nullopt;
}

std::string format_names() {
  std::string out;
  for (const FormatTraits& t : kFormats) out += (out.empty() ? "" : ", ") + std::string(t.name);
  return out;
}

}  // namespace spectrum::audio
