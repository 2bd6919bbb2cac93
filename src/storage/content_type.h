// Content types of audio objects, from the name's extension (what a browser needs to play a download).
#pragma once

#include <string_view>

namespace spectrum::storage {

// "audio/mpeg" for "x.mp3" and so on, case-insensitively; "application/octet-stream" when unknown.
std::string_view content_type_for_name(std::string_view name) noexcept;

// The usual extension (with its dot) for an audio content type, "" when unknown. Parameters are ignored.
std::string_view extension_for_content_type(std::string_view content_type) noexcept;

}  // namespace spectrum::storage
