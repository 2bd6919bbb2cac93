// RFC 3986 percent-encoding, shared by the GCS client (V4 signing, JSON API paths, OAuth forms) and the local
// backend's signed /files/ URLs.
#pragma once

#include <string>
#include <string_view>

namespace spectrum::storage {

// Everything outside A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex), and '/' too unless `keep_slash`
// (object paths keep their slashes). Bytes are taken as they are: UTF-8 is encoded byte by byte.
std::string percent_encode(std::string_view text, bool keep_slash);

}  // namespace spectrum::storage
