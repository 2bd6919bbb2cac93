// The format table: every name a user may type finds its row, no two rows claim a name, and the facts other
// modules read from it (lossiness, rates, bitrates) are the ones the encoders need.
#include "audio/format.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace spectrum::audio {
namespace {

TEST(FormatTable, NamesExtensionsAndAliasesFindTheirRow) {
  for (const FormatTraits& t : kFormats) {
    EXPECT_EQ(format_from_name(t.name), t.format) << t.name;
    EXPECT_EQ(format_from_name(t.extension), t.format) << t.extension;
    EXPECT_EQ(format_from_name(t.extension.substr(1)), t.format) << t.extension;
    std::string upper(t.extension);
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    EXPECT_EQ(format_from_name(upper), t.format) << upper;
    for (const std::string_view alias : t.aliases) {
      if (!alias.empty()) {
        EXPECT_EQ(format_from_name(alias), t.format) << alias;
      }
    }
    EXPECT_EQ(&traits(t.format), &t);
  }
  EXPECT_EQ(format_from_name("M4A"), Format::kAac);
  EXPECT_EQ(format_from_name(".oga"), Format::kVorbis);
  for (const char* unknown : {"", ".", "exe", "mp", "wavx", "ogg "}) EXPECT_FALSE(format_from_name(unknown)) << unknown;
}

TEST(FormatTable, NoNameIsClaimedTwice) {
  std::set<std::string_view> seen;
  for (const FormatTraits& t : kFormats) {
    EXPECT_TRUE(seen.insert(t.name).second) << t.name;
    if (t.extension.substr(1) != t.name) {
      EXPECT_TRUE(seen.insert(t.extension.substr(1)).second) << t.extension;
    }
    for (const std::string_view alias : t.aliases) {
      if (!alias.empty()) {
        EXPECT_TRUE(seen.insert(alias).second) << alias;
      }
    }
  }
}

TEST(FormatTable, LossyRowsCarryBitratesAndMargins) {
  for (const FormatTraits& t : kFormats) {
    if (t.lossy) {
      EXPECT_GT(t.min_kbps, 0) << t.name;
      EXPECT_LE(t.min_kbps, t.max_kbps) << t.name;
      if (t.default_kbps > 0) {
        EXPECT_TRUE(t.default_kbps >= t.min_kbps && t.default_kbps <= t.max_kbps) << t.name;
      }
      EXPECT_GT(t.trial_safety_db, 0.0) << t.name;
      EXPECT_FALSE(t.encoder.empty()) << t.name;
    } else {
      EXPECT_EQ(t.max_kbps, 0) << t.name;
    }
  }
  EXPECT_TRUE(is_lossy(Format::kMp3));
  EXPECT_FALSE(is_lossy(Format::kFlac));
  EXPECT_EQ(traits(Format::kOpus).fixed_rate_hz, 48000);
  EXPECT_EQ(traits(Format::kMp3).max_kbps, 320);
}

TEST(FormatTable, InputsAreRecognisedByDemuxerOrCodec) {
  EXPECT_EQ(format_of_input("wav", "pcm_s16le", true), Format::kWav);
  EXPECT_EQ(format_of_input("aiff", "pcm_s24be", true), Format::kAiff);
  EXPECT_EQ(format_of_input("flac", "flac", false), Format::kFlac);
  EXPECT_EQ(format_of_input("mov,mp4,m4a,3gp,3g2,mj2", "aac", false), Format::kAac);
  EXPECT_EQ(format_of_input("ogg", "vorbis", false), Format::kVorbis);
  EXPECT_EQ(format_of_input("ogg", "opus", false), Format::kOpus);
  EXPECT_FALSE(format_of_input("w64", "pcm_s16le", true));  // PCM in a container we do not write
  EXPECT_FALSE(format_of_input("mov,mp4,m4a,3gp,3g2,mj2", "alac", false));
}

TEST(FormatTable, NamesForMessagesListEveryFormat) {
  const std::string names = format_names();
  for (const FormatTraits& t : kFormats) EXPECT_NE(names.find(t.name), std::string::npos) << t.name;
}

}  // namespace
}  // namespace spectrum::audio
