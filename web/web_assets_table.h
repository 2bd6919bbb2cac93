// Internal: the table generated at build time from web/static/ (see cmake/EmbedAssets.cmake).
#pragma once

#include <span>
#include <string_view>

namespace spectrum::web::internal {

struct EmbeddedFile {
  std::string_view path;  // URL path, e.g. "/index.html"
  std::string_view body;
};

std::span<const EmbeddedFile> embedded_files() noexcept;

}  // namespace spectrum::web::internal
