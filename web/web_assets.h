// The web page's static files, embedded in the binary so the service is self-contained (no CDN, no install step).
#pragma once

#include <optional>
#include <string_view>

namespace spectrum::web {

struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// "/" maps to index.html. Returns nullopt for unknown paths.
std::optional<Asset> find_web_asset(std::string_view path) noexcept;

}  // namespace spectrum::web
