#include "mastering/presets.h"

#include <algorithm>

namespace spectrum::mastering {

const Preset* find_preset(std::string_view id) noexcept {
  const auto* it = std::find_if(kPresets.begin(), kPresets.end(), [&](const Preset& p) { return p.id == id; });
  return it == kPresets.end() ? nullptr : &*it;
}

}  // namespace spectrum::mastering
