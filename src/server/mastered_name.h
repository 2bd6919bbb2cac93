// The name of the mastered object: "_mastered" goes before the extension of the last path segment,
// and only there (the earlier backend replaced every dot, which broke names like "a.b/c.song.mp3").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace spectrum::server {

// "a.b/c.song.mp3" -> "a.b/c.song_mastered.mp3"; with new_extension ".wav" -> "a.b/c.song_mastered.wav".
// A last segment with no extension (or only a leading dot, ".hidden") gets "_mastered" appended.
// kInvalidArgument when the result is not a valid object name or equals the input.
Expected<std::string> mastered_object_name(std::string_view input,
                                           std::optional<std::string_view> new_extension = std::nullopt);

// The extension of the last segment, with its dot ("" when none), e.g. ".mp3".
std::string_view extension_of_name(std::string_view name) noexcept;

}  // namespace spectrum::server
