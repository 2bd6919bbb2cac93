#include "web_assets.h"

namespace spectrum::web {
// Placeholder until the page lands: no assets.
std::optional<Asset> find_web_asset(std::string_view /*path*/) noexcept { return std::nullopt; }
}  // namespace spectrum::web
