#include "web_assets.h"

#include <array>
#include <utility>

#include "web_assets_table.h"

namespace spectrum::web {
namespace {

// Only the types the page uses; anything else is served as bytes.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kContentTypes{{
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".json", "application/json"},
    {".png", "image/png"},
}};

std::string_view content_type_for(std::string_view path) noexcept {
  for (const auto& [extension, type] : kContentTypes) {
    if (path.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

}  // namespace

std::optional<Asset> find_web_asset(std::string_view path) noexcept {
  // A query string or fragment never selects a different file.
  if (const auto cut = path.find_first_of("?#"); cut != std::string_view::npos) path = path.substr(0, cut);
  if (path == "/" || path.empty()) path = "/index.html";
  // Exact match against the table: nothing outside web/static/ was embedded, so no path can escape it.
  for (const auto& file : internal::embedded_files()) {
    if (file.path == path) return Asset{content_type_for(path), file.body};
  }
  return std::nullopt;
}

}  // namespace spectrum::web
