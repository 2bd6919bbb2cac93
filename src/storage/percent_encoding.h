// RFC 3986 percent-encoding, shared by the GCS client (V4 signing, JSON API paths, OAuth forms) and the local
// backend's signed /files/ URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spectrum::storage {

// Everything outside A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex), and '/' too unless `keep_slash`
// (object paths keep their slashes). Bytes are taken as they are: UTF-8 is encoded byte by byte.
std::string percent_encode(std::string_view text, bool keep_slash);

// The inverse: every %XX becomes its byte; other characters (including '+') stay as they are. nullopt for a
// '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace spectrum::storage
