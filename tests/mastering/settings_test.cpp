#include "mastering/settings.h"

#include "mastering/presets.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spectrum::mastering {
namespace {

using nlohmann::json;

TEST(Settings, MissingFieldsGetDefaults) {
  auto s = parse_settings(json::object());
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->target_loudness_lufs.has_value());
  EXPECT_EQ(s->compression_ratio, 4.0);
  EXPECT_EQ(s->eq_profile, EqProfile::kNeutral);
  EXPECT_EQ(s->stereo_width_percent, 100.0);
  EXPECT_EQ(s->tonal_match_percent, kDefaultTonalMatchPercent);
  EXPECT_EQ(s->true_peak_ceiling_dbtp, -1.0);
  EXPECT_FALSE(s->output_format.has_value());
  EXPECT_FALSE(s->loudness_range_lu.has_value());  // the input's range is kept
}

TEST(Settings, NullObjectAndNullFieldsMeanDefaults) {
  EXPECT_TRUE(parse_settings(json(nullptr)).ok());
  auto s = parse_settings(json{{"targetLoudness", nullptr}, {"eqProfile", nullptr}});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->target_loudness_lufs.has_value());
}

TEST(Settings, ParsesEveryField) {
  auto s = parse_settings(json{{"targetLoudness", -10},
                               {"compressionRatio", 1.5},
                               {"eqProfile", "bass-boost"},
                               {"stereoWidth", 200},
                               {"tonalMatch", 0},
                               {"truePeakCeiling", -2.5},
                               {"loudnessRange", 6},
                               {"outputFormat", "m4a"},
                               {"bitrate", 192},
                               {"referenceFileName", "refs/ref.wav"}});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*s->target_loudness_lufs, -10.0);
  EXPECT_EQ(s->compression_ratio, 1.5);
  EXPECT_EQ(s->eq_profile, EqProfile::kBassBoost);
  EXPECT_EQ(s->stereo_width_percent, 200.0);
  EXPECT_EQ(s->tonal_match_percent, 0.0);
  EXPECT_EQ(s->true_peak_ceiling_dbtp, -2.5);
  EXPECT_EQ(*s->loudness_range_lu, 6.0);
  EXPECT_EQ(*s->output_format, audio::Format::kAac);
  EXPECT_EQ(*s->bitrate_kbps, 192);
  EXPECT_EQ(*s->reference_file_name, "refs/ref.wav");
}

TEST(Settings, RangeBoundsAreInclusive) {
  for (double v : {-20.0, -10.0}) EXPECT_TRUE(parse_settings(json{{"targetLoudness", v}}).ok());
  for (double v : {1.0, 10.0}) EXPECT_TRUE(parse_settings(json{{"compressionRatio", v}}).ok());
  for (double v : {0.0, 200.0}) EXPECT_TRUE(parse_settings(json{{"stereoWidth", v}}).ok());
}

struct BadCase {
  json settings;
  const char* must_contain[3];
};

TEST(Settings, ErrorsNameFieldValueAndRange) {
  const BadCase cases[] = {
      {json{{"targetLoudness", -9}}, {"settings.targetLoudness", "-20", "-9"}},
      {json{{"targetLoudness", -25.5}}, {"settings.targetLoudness", "-10", "-25.5"}},
      {json{{"targetLoudness", "-14"}}, {"settings.targetLoudness", "number", "string"}},
      {json{{"compressionRatio", 0.5}}, {"settings.compressionRatio", "between 1 and 10", "0.5"}},
      {json{{"compressionRatio", true}}, {"settings.compressionRatio", "number", "boolean"}},
      {json{{"stereoWidth", 250}}, {"settings.stereoWidth", "between 0 and 200", "250"}},
      {json{{"tonalMatch", -1}}, {"settings.tonalMatch", "between 0 and 100", "-1"}},
      {json{{"truePeakCeiling", 1}}, {"settings.truePeakCeiling", "between -9 and 0", "1"}},
      {json{{"loudnessRange", 0.5}}, {"settings.loudnessRange", "between 1 and 30", "0.5"}},
      {json{{"loudnessRange", "wide"}}, {"settings.loudnessRange", "number", "string"}},
      {json{{"eqProfile", "loud"}}, {"settings.eqProfile", "neutral, bright, warm, bass-boost", "loud"}},
      {json{{"eqProfile", 3}}, {"settings.eqProfile", "string", "3"}},
      {json{{"outputFormat", "wma"}}, {"settings.outputFormat", "mp3", "wma"}},
      {json{{"bitrate", 128.5}}, {"settings.bitrate", "whole number", "128.5"}},
      {json{{"bitrate", 8}}, {"settings.bitrate", "between 32 and 512", "8"}},
      {json{{"referenceFileName", ""}}, {"settings.referenceFileName", "empty", ""}},
      {json::array({1, 2}), {"settings", "object", "array"}},
  };
  for (const auto& c : cases) {
    auto s = parse_settings(c.settings);
    ASSERT_FALSE(s.ok()) << c.settings.dump();
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    for (const char* needle : c.must_contain)
      EXPECT_NE(s.error().message.find(needle), std::string::npos)
          << "message '" << s.error().message << "' lacks '" << needle << "'";
  }
}

TEST(Settings, HostileValuesAreTruncatedInMessages) {
  auto s = parse_settings(json{{"eqProfile", std::string(10000, 'x')}});
  ASSERT_FALSE(s.ok());
  EXPECT_LT(s.error().message.size(), 200u);
}

TEST(Settings, UnknownKeysAreIgnored) {
  auto s = parse_settings(json{{"futureKnob", 1}, {"targetLoudness", -12}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->target_loudness_lufs, -12.0);
}

TEST(Settings, JsonRoundTrip) {
  auto s = parse_settings(json{{"targetLoudness", -16}, {"eqProfile", "warm"}, {"loudnessRange", 8}});
  ASSERT_TRUE(s.ok());
  auto again = parse_settings(to_json(*s));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->target_loudness_lufs, -16.0);
  EXPECT_EQ(*again->loudness_range_lu, 8.0);
  EXPECT_EQ(again->eq_profile, EqProfile::kWarm);
}

}  // namespace
}  // namespace spectrum::mastering

namespace spectrum::mastering {
namespace {

TEST(Presets, FillTargetCeilingAndFormatWhereNotGiven) {
  auto spotify = parse_settings(nlohmann::json{{"preset", "spotify"}});
  ASSERT_TRUE(spotify.ok()) << spotify.error().message;
  EXPECT_EQ(spotify->target_loudness_lufs, -14.0);
  EXPECT_EQ(spotify->true_peak_ceiling_dbtp, -1.0);
  EXPECT_FALSE(spotify->output_format.has_value());
  EXPECT_EQ(to_json(*spotify).at("preset"), "spotify");

  auto amazon = parse_settings(nlohmann::json{{"preset", "amazon-music"}});
  ASSERT_TRUE(amazon.ok());
  EXPECT_EQ(amazon->true_peak_ceiling_dbtp, -2.0);

  auto club = parse_settings(nlohmann::json{{"preset", "club"}});
  ASSERT_TRUE(club.ok());
  EXPECT_EQ(club->target_loudness_lufs, -10.0);
  EXPECT_EQ(club->output_format, audio::Format::kWav);
}

TEST(Presets, ExplicitFieldsWin) {
  auto mixed = parse_settings(
      nlohmann::json{{"preset", "club"}, {"targetLoudness", -12}, {"truePeakCeiling", -2}, {"outputFormat", "flac"}});
  ASSERT_TRUE(mixed.ok()) << mixed.error().message;
  EXPECT_EQ(mixed->target_loudness_lufs, -12.0);
  EXPECT_EQ(mixed->true_peak_ceiling_dbtp, -2.0);
  EXPECT_EQ(mixed->output_format, audio::Format::kFlac);
}

TEST(Presets, UnknownOrMistypedPresetNamesTheChoices) {
  auto unknown = parse_settings(nlohmann::json{{"preset", "napster"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("settings.preset must be one of spotify, apple-music"), std::string::npos)
      << unknown.error().message;
  auto mistyped = parse_settings(nlohmann::json{{"preset", 3}});
  ASSERT_FALSE(mistyped.ok());
  EXPECT_NE(mistyped.error().message.find("settings.preset must be a string"), std::string::npos);
}

TEST(Presets, EveryPresetIsWithinTheSettingsRanges) {
  for (const Preset& preset : kPresets) {
    auto parsed = parse_settings(nlohmann::json{{"preset", preset.id}});
    ASSERT_TRUE(parsed.ok()) << preset.id << ": " << parsed.error().message;
    EXPECT_GE(preset.target_loudness_lufs, kTargetLoudnessRange.min) << preset.id;
    EXPECT_LE(preset.target_loudness_lufs, kTargetLoudnessRange.max) << preset.id;
    EXPECT_GE(preset.true_peak_ceiling_dbtp, kTruePeakCeilingRange.min) << preset.id;
    EXPECT_LE(preset.true_peak_ceiling_dbtp, kTruePeakCeilingRange.max) << preset.id;
    EXPECT_EQ(find_preset(preset.id), &preset);
  }
  EXPECT_EQ(kPresets.size(), 8u) << "the issue's eight platforms (docs/presets.md)";
}

}  // namespace
}  // namespace spectrum::mastering
