#include "mastering/settings.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "mastering/presets.h"

namespace spectrum::mastering {
namespace {

using nlohmann::json;

struct ProfileName {
  EqProfile profile;
  std::string_view name;
};
constexpr std::array kProfileNames{
    ProfileName{EqProfile::kNeutral, "neutral"},
    ProfileName{EqProfile::kBright, "bright"},
    ProfileName{EqProfile::kWarm, "warm"},
    ProfileName{EqProfile::kBassBoost, "bass-boost"},
};

std::string format_number(double v) {
  json j = v;
  if (v == std::floor(v) && std::abs(v) < 1e15) j = static_cast<long long>(v);
  return j.dump();
}

// A short rendering of an offending value for an error message (bounded, so hostile input stays small).
std::string describe(const json& value) {
  std::string text = value.dump();
  constexpr std::size_t kMaxShown = 40;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return std::string(value.type_name()) + " " + text;
}

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// Reads an optional number field and checks its range. Returns nullopt when absent or null.
Expected<std::optional<double>> read_number(const json& obj, std::string_view key, Range range) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<double>{};
  const std::string field = "settings." + std::string(key);
  if (!it->is_number()) {
    return invalid(field + " must be a number between " + format_number(range.min) + " and " +
                   format_number(range.max) + " (got " + describe(*it) + ")");
  }
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < range.min || v > range.max) {
    return invalid(field + " must be between " + format_number(range.min) + " and " + format_number(range.max) +
                   " (got " + format_number(v) + ")");
  }
  return std::optional<double>{v};
}

Expected<std::optional<std::string>> read_string(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) {
    return invalid("settings." + std::string(key) + " must be a string (got " + describe(*it) + ")");
  }
  return std::optional<std::string>{it->get<std::string>()};
}

template <class Names>
std::string list_names(const Names& names) {
  std::string out;
  for (const auto& n : names) {
    if constexpr (requires { n.id; }) {
      out += (out.empty() ? "" : ", ") + std::string(n.id);
    } else {
      out += (out.empty() ? "" : ", ") + std::string(n.name);
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(EqProfile profile) noexcept {
  for (const auto& p : kProfileNames)
    if (p.profile == profile) return p.name;
  return "neutral";
}

Expected<Settings> parse_settings(const json& settings) {
  const json& obj = settings;
  if (obj.is_null()) return Settings{};
  if (!obj.is_object()) return invalid("settings must be a JSON object (got " + describe(obj) + ")");

  Settings s;
  // A preset fills target, ceiling and format; any of them given explicitly wins.
  auto preset_id = read_string(obj, "preset");
  if (!preset_id) return std::move(preset_id).error();
  const Preset* preset = nullptr;
  if (*preset_id) {
    preset = find_preset(**preset_id);
    if (preset == nullptr) {
      return invalid("settings.preset must be one of " + list_names(kPresets) + " (got " + describe(obj.at("preset")) +
                     ")");
    }
    s.preset = std::string(preset->id);
  }

  auto target = read_number(obj, "targetLoudness", kTargetLoudnessRange);
  if (!target) return std::move(target).error();
  s.target_loudness_lufs = *target;
  if (!s.target_loudness_lufs && preset != nullptr) s.target_loudness_lufs = preset->target_loudness_lufs;

  auto ratio = read_number(obj, "compressionRatio", kCompressionRatioRange);
  if (!ratio) return std::move(ratio).error();
  s.compression_ratio = ratio->value_or(kDefaultCompressionRatio);

  auto width = read_number(obj, "stereoWidth", kStereoWidthRange);
  if (!width) return std::move(width).error();
  s.stereo_width_percent = width->value_or(kDefaultStereoWidthPercent);

  auto tonal = read_number(obj, "tonalMatch", kTonalMatchRange);
  if (!tonal) return std::move(tonal).error();
  s.tonal_match_percent = tonal->value_or(kDefaultTonalMatchPercent);

  auto ceiling = read_number(obj, "truePeakCeiling", kTruePeakCeilingRange);
  if (!ceiling) return std::move(ceiling).error();
  s.true_peak_ceiling_dbtp =
      ceiling->value_or(preset != nullptr ? preset->true_peak_ceiling_dbtp : kDefaultTruePeakCeilingDbtp);

  auto range = read_number(obj, "loudnessRange", kLoudnessRangeLuRange);
  if (!range) return std::move(range).error();
  s.loudness_range_lu = *range;

  auto profile = read_string(obj, "eqProfile");
  if (!profile) return std::move(profile).error();
  if (*profile) {
    const auto* it = std::find_if(kProfileNames.begin(), kProfileNames.end(),
                                  [&](const ProfileName& p) { return p.name == **profile; });
    if (it == kProfileNames.end()) {
      return invalid("settings.eqProfile must be one of " + list_names(kProfileNames) + " (got " +
                     describe(obj.at("eqProfile")) + ")");
    }
    s.eq_profile = it->profile;
  }

  auto format = read_string(obj, "outputFormat");
  if (!format) return std::move(format).error();
  if (*format) {
    s.output_format = audio::format_from_name(**format);
    if (!s.output_format) {
      return invalid("settings.outputFormat must be one of " + audio::format_names() + " (got " +
                     describe(obj.at("outputFormat")) + ")");
    }
  }

  if (auto it = obj.find("outputFormats"); it != obj.end() && !it->is_null()) {
    const std::string allowed = "an array of 1 to " + std::to_string(audio::kFormats.size()) +
                                " different formats out of " + audio::format_names();
    if (!it->is_array() || it->empty() || it->size() > audio::kFormats.size()) {
      return invalid("settings.outputFormats must be " + allowed + " (got " + describe(*it) + ")");
    }
    for (const json& entry : *it) {
      const auto parsed = entry.is_string() ? audio::format_from_name(entry.get<std::string>()) : std::nullopt;
      if (!parsed) return invalid("settings.outputFormats must be " + allowed + " (got " + describe(entry) + ")");
      if (std::find(s.output_formats.begin(), s.output_formats.end(), *parsed) != s.output_formats.end()) {
        return invalid("settings.outputFormats names " + std::string(audio::traits(*parsed).name) + " twice");
      }
      s.output_formats.push_back(*parsed);
    }
    if (s.output_format && *s.output_format != s.output_formats.front()) {
      return invalid("settings.outputFormat must be the first of settings.outputFormats when both are given");
    }
    s.output_format = s.output_formats.front();
  }
  if (!s.output_format && preset != nullptr) s.output_format = preset->output_format;

  auto bitrate = read_number(obj, "bitrate", kBitrateKbpsRange);
  if (!bitrate) return std::move(bitrate).error();
  if (*bitrate) {
    if (**bitrate != std::floor(**bitrate)) {
      return invalid("settings.bitrate must be a whole number of kbps (got " + format_number(**bitrate) + ")");
    }
    s.bitrate_kbps = static_cast<int>(**bitrate);
  }

  auto reference = read_string(obj, "referenceFileName");
  if (!reference) return std::move(reference).error();
  if (*reference && (*reference)->empty()) return invalid("settings.referenceFileName must not be empty");
  s.reference_file_name = *reference;
  return s;
}

json to_json(const Settings& s) {
  json j = {
      {"compressionRatio", s.compression_ratio},     {"eqProfile", std::string(to_string(s.eq_profile))},
      {"stereoWidth", s.stereo_width_percent},       {"tonalMatch", s.tonal_match_percent},
      {"truePeakCeiling", s.true_peak_ceiling_dbtp},
  };
  j["targetLoudness"] = s.target_loudness_lufs ? json(*s.target_loudness_lufs) : json(nullptr);
  if (s.loudness_range_lu) j["loudnessRange"] = *s.loudness_range_lu;
  if (s.reference_file_name) j["referenceFileName"] = *s.reference_file_name;
  if (s.output_format) j["outputFormat"] = std::string(audio::traits(*s.output_format).name);
  if (!s.output_formats.empty()) {
    j["outputFormats"] = json::array();
    for (const audio::Format format : s.output_formats) j["outputFormats"].push_back(audio::traits(format).name);
  }
  if (s.bitrate_kbps) j["bitrate"] = *s.bitrate_kbps;
  if (s.preset) j["preset"] = *s.preset;
  return j;
}

}  // namespace spectrum::mastering
