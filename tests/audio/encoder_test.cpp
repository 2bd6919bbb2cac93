#include "audio/encoder.h"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "audio/decoder.h"
#include "audio_test_util.h"

namespace spectrum::audio {
namespace {

using namespace spectrum::audio::testing;

class EncoderTest : public TempDirTest {};

constexpr double kLsb16 = 1.0 / 32768.0;
constexpr double kLsb24 = 1.0 / 8388608.0;

struct LosslessCase {
  const char* name;
  Format format;
  int bits;
  bool is_float;
  double tolerance;  // per sample, absolute
};

// Lossless formats: rate, channels and frame count exact; samples within the quantisation step.
TEST_F(EncoderTest, LosslessRoundTrip) {
  const std::vector<LosslessCase> cases = {
      {"wav16", Format::kWav, 16, false, 2 * kLsb16},   {"wav24", Format::kWav, 24, false, kLsb24},
      {"wavf32", Format::kWav, 32, true, 0.0},          {"aiff16", Format::kAiff, 16, false, 2 * kLsb16},
      {"aiff24", Format::kAiff, 24, false, kLsb24},     {"aifff32", Format::kAiff, 32, true, 0.0},
      {"flac16", Format::kFlac, 16, false, 2 * kLsb16}, {"flac24", Format::kFlac, 24, false, kLsb24},
  };
  const std::size_t frames = 48000 + 123;  // not a multiple of any codec frame
  const Channels signal = make_test_signal(2, 48000, frames, 997.0, 0.9);
  for (const LosslessCase& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path path = dir_ / (std::string(c.name) + ".out");
    ASSERT_TRUE(encode_file(path,
                            {.format = c.format,
                             .sample_rate_hz = 48000,
                             .channels = 2,
                             .bits_per_sample = c.bits,
                             .is_float = c.is_float},
                            signal, 1000)
                    .ok());
    auto decoded = decode_file(path);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->info.sample_rate_hz, 48000);
    EXPECT_EQ(decoded->info.channels, 2);
    ASSERT_EQ(decoded->samples[0].size(), frames);
    ASSERT_EQ(decoded->samples[1].size(), frames);
    const double error =
        std::max(max_abs_error(decoded->samples[0], signal[0]), max_abs_error(decoded->samples[1], signal[1]));
    EXPECT_LE(error, c.tolerance) << "max error " << error / kLsb16 << " LSB16";
    // The error bound must not be met by accident (e.g. everything zero).
    EXPECT_NEAR(*std::max_element(decoded->samples[0].begin(), decoded->samples[0].end()), 0.9, 1e-3);
    RecordProperty(std::string(c.name) + "_max_error", std::to_string(error));
  }
}

TEST_F(EncoderTest, SampleRatesAndChannelCountsArePreserved) {
  for (const Format format : {Format::kWav, Format::kFlac}) {
    for (const int rate : {8000, 44100, 96000, 192000}) {
      for (const int channels : {1, 2}) {
        SCOPED_TRACE(std::to_string(rate) + " Hz, " + std::to_string(channels) + " ch, format " +
                     std::to_string(static_cast<int>(format)));
        const std::size_t frames = static_cast<std::size_t>(rate) / 4 + 11;
        const Channels signal = make_test_signal(channels, rate, frames, 440.0);
        const fs::path path = dir_ / "rate.out";
        ASSERT_TRUE(encode_file(path,
                                {.format = format, .sample_rate_hz = rate, .channels = channels, .bits_per_sample = 24},
                                signal)
                        .ok());
        auto decoded = decode_file(path);
        ASSERT_TRUE(decoded.ok()) << decoded.error().message;
        EXPECT_EQ(decoded->info.sample_rate_hz, rate);
        EXPECT_EQ(decoded->info.channels, channels);
        ASSERT_EQ(decoded->samples.size(), static_cast<std::size_t>(channels));
        EXPECT_EQ(decoded->samples[0].size(), frames);
        for (int c = 0; c < channels; ++c) {
          EXPECT_LE(max_abs_error(decoded->samples[static_cast<std::size_t>(c)], signal[static_cast<std::size_t>(c)]),
                    kLsb24);
        }
      }
    }
  }
}

TEST_F(EncoderTest, TwentyFourBitRoundsAndClips) {
  // 1.5 and -1.5 clip to the integer range; values a third of an LSB off a step round to it.
  const Channels signal = {{1.5F, -1.5F, 1.0F, -1.0F, static_cast<float>(1000.3 * kLsb24),
                            static_cast<float>(-1000.3 * kLsb24), static_cast<float>(1000.7 * kLsb24)}};
  ASSERT_TRUE(
      encode_file(dir_ / "clip.wav", {.format = Format::kWav, .sample_rate_hz = 48000, .channels = 1}, signal).ok());
  auto decoded = decode_file(dir_ / "clip.wav");
  ASSERT_TRUE(decoded.ok());
  const std::vector<float> expected = {static_cast<float>(8388607 * kLsb24), -1.0F,
                                       static_cast<float>(8388607 * kLsb24), -1.0F,
                                       static_cast<float>(1000 * kLsb24),    static_cast<float>(-1000 * kLsb24),
                                       static_cast<float>(1001 * kLsb24)};
  EXPECT_EQ(decoded->samples[0], expected);
}

// Dither of a silent signal: error within +-2 LSB, zero mean, present (not all zero), deterministic.
TEST_F(EncoderTest, SixteenBitDitherOfSilence) {
  const std::size_t frames = 48000;
  const Channels silence(2, std::vector<float>(frames, 0.0F));
  ASSERT_TRUE(encode_file(dir_ / "d.wav",
                          {.format = Format::kWav, .sample_rate_hz = 48000, .bits_per_sample = 16, .dither_seed = 42},
                          silence)
                  .ok());
  auto decoded = decode_file(dir_ / "d.wav");
  ASSERT_TRUE(decoded.ok());
  double sum_lsb = 0.0;
  double max_lsb = 0.0;
  std::size_t nonzero = 0;
  for (const auto& ch : decoded->samples) {
    for (float s : ch) {
      const double lsb = static_cast<double>(s) / kLsb16;
      EXPECT_EQ(lsb, std::round(lsb)) << "not on the 16-bit grid";
      sum_lsb += lsb;
      max_lsb = std::max(max_lsb, std::abs(lsb));
      if (s != 0.0F) ++nonzero;
    }
  }
  const double count = 2.0 * frames;
  // TPDF over +-1 LSB then rounding: 0 with probability 3/4, +-1 LSB with 1/8 each.
  EXPECT_LE(max_lsb, 2.0);
  EXPECT_NEAR(sum_lsb / count, 0.0, 0.02);
  EXPECT_NEAR(static_cast<double>(nonzero) / count, 0.25, 0.02);
}

// A sine of a third of an LSB (about -100 dBFS) vanishes when rounded, but survives dithered.
TEST_F(EncoderTest, SixteenBitDitherKeepsASubLsbSignal) {
  const std::size_t frames = 96000;
  const double amplitude = kLsb16 / 3.0;
  const Channels signal = make_sine(1, 48000, frames, 1000.0, amplitude);
  ASSERT_TRUE(encode_file(dir_ / "low.wav",
                          {.format = Format::kWav, .sample_rate_hz = 48000, .channels = 1, .bits_per_sample = 16},
                          signal)
                  .ok());
  auto decoded = decode_file(dir_ / "low.wav");
  ASSERT_TRUE(decoded.ok());
  double projection = 0.0;
  double max_error_lsb = 0.0;
  double mean_error_lsb = 0.0;
  for (std::size_t i = 0; i < frames; ++i) {
    const double reference = std::sin(2.0 * std::numbers::pi * 1000.0 * static_cast<double>(i) / 48000.0);
    projection += static_cast<double>(decoded->samples[0][i]) * reference;
    const double error_lsb = static_cast<double>(decoded->samples[0][i] - signal[0][i]) / kLsb16;
    max_error_lsb = std::max(max_error_lsb, std::abs(error_lsb));
    mean_error_lsb += error_lsb / static_cast<double>(frames);
  }
  const double measured_amplitude = 2.0 * projection / static_cast<double>(frames);
  EXPECT_LE(max_error_lsb, 2.0);
  EXPECT_NEAR(mean_error_lsb, 0.0, 0.02);
  EXPECT_NEAR(measured_amplitude / amplitude, 1.0, 0.1) << "measured " << measured_amplitude / kLsb16 << " LSB";
}

TEST_F(EncoderTest, OutputIsIndependentOfBlockSizeAndDeterministic) {
  const Channels signal = make_test_signal(2, 44100, 20000, 1234.0, 0.7);
  struct Case {
    const char* name;
    Format format;
    int bits;
  };
  for (const Case& c :
       {Case{"w16", Format::kWav, 16}, Case{"w24", Format::kWav, 24}, Case{"f16", Format::kFlac, 16},
        Case{"f24", Format::kFlac, 24}, Case{"a16", Format::kAiff, 16}, Case{"mp3", Format::kMp3, 0},
        Case{"ogg", Format::kVorbis, 0}, Case{"opus", Format::kOpus, 0}, Case{"m4a", Format::kAac, 0}}) {
    SCOPED_TRACE(c.name);
    const EncoderOptions options{
        .format = c.format, .sample_rate_hz = 44100, .bits_per_sample = c.bits > 0 ? c.bits : 24, .dither_seed = 99};
    std::vector<std::vector<char>> outputs;
    for (const std::size_t block : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{20000}}) {
      const fs::path path = dir_ / (std::string(c.name) + "_" + std::to_string(block));
      ASSERT_TRUE(encode_file(path, options, signal, block).ok());
      outputs.push_back(read_bytes(path));
    }
    ASSERT_GT(outputs[0].size(), 1000U);
    for (std::size_t i = 1; i < outputs.size(); ++i) EXPECT_TRUE(outputs[i] == outputs[0]) << "block size case " << i;
  }
}

TEST_F(EncoderTest, DitherSeedSelectsTheNoise) {
  const Channels signal = make_test_signal(2, 44100, 10000, 440.0, 0.3);
  const auto encode_with_seed = [&](std::uint64_t seed, const char* name) {
    EncoderOptions options{.format = Format::kWav, .sample_rate_hz = 44100, .bits_per_sample = 16, .dither_seed = seed};
    EXPECT_TRUE(encode_file(dir_ / name, options, signal).ok());
    return read_bytes(dir_ / name);
  };
  const auto a = encode_with_seed(5, "a.wav");
  const auto b = encode_with_seed(5, "b.wav");
  const auto c = encode_with_seed(6, "c.wav");
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
}

// 0.25 s of silence, then a 1 kHz cosine starting at its peak: the sharp onset makes the codec's delay
// measurable (a steady sine alone would align at any multiple of its period).
Channels make_onset_sine(int channels, int sample_rate_hz, std::size_t frames, std::size_t onset) {
  Channels out(static_cast<std::size_t>(channels), std::vector<float>(frames, 0.0F));
  for (auto& ch : out) {
    for (std::size_t i = onset; i < frames; ++i) {
      ch[i] = static_cast<float>(
          0.5 * std::cos(2.0 * std::numbers::pi * 1000.0 * static_cast<double>(i - onset) / sample_rate_hz));
    }
  }
  return out;
}

// Offset of `decoded` against `reference`: from the first sample above half the amplitude, refined by
// cross-correlation within less than half a period of the 1 kHz tone either side.
long measure_lag(const std::vector<float>& reference, const std::vector<float>& decoded, int sample_rate_hz) {
  const auto first_loud = [](const std::vector<float>& x) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::abs(x[i]) > 0.25F) return static_cast<long>(i);
    }
    return -1L;
  };
  const long coarse = first_loud(decoded) - first_loud(reference);
  const long window = std::min(20L, sample_rate_hz / 2000L - 1);
  const long n = static_cast<long>(std::min(reference.size(), decoded.size()));
  long best = coarse;
  double best_score = -1e300;
  for (long lag = coarse - window; lag <= coarse + window; ++lag) {
    double score = 0.0;
    for (long i = n / 4; i < n - n / 4; ++i) {
      score += static_cast<double>(reference[static_cast<std::size_t>(i)]) *
               static_cast<double>(decoded[static_cast<std::size_t>(i + lag)]);
    }
    if (score > best_score) {
      best_score = score;
      best = lag;
    }
  }
  return best;
}

struct LossyCase {
  const char* name;
  Format format;
  int input_rate_hz;
  int expected_rate_hz;
  std::size_t frame_tolerance;  // one codec frame at the output rate
  int channels = 2;
};

TEST_F(EncoderTest, LossyRoundTripKeepsA1kHzSine) {
  const std::vector<LossyCase> cases = {
      {"mp3", Format::kMp3, 44100, 44100, 1152},          {"m4a", Format::kAac, 44100, 44100, 1024},
      {"ogg", Format::kVorbis, 44100, 44100, 2048},       {"opus", Format::kOpus, 44100, 48000, 960},
      {"opus48", Format::kOpus, 48000, 48000, 960},       {"mp3_48", Format::kMp3, 48000, 48000, 1152},
      {"m4a_96", Format::kAac, 96000, 96000, 1024},       {"mp3_mono", Format::kMp3, 22050, 22050, 1152, 1},
      {"opus_mono", Format::kOpus, 16000, 48000, 960, 1}, {"ogg_mono", Format::kVorbis, 32000, 32000, 2048, 1},
      {"m4a_mono", Format::kAac, 8000, 8000, 1024, 1},
  };
  for (const LossyCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::size_t frames = static_cast<std::size_t>(c.input_rate_hz) * 2;
    const Channels signal =
        make_onset_sine(c.channels, c.input_rate_hz, frames, static_cast<std::size_t>(c.input_rate_hz) / 4);
    const fs::path path = dir_ / c.name;
    auto encoder =
        Encoder::create(path, {.format = c.format, .sample_rate_hz = c.input_rate_hz, .channels = c.channels});
    ASSERT_TRUE(encoder.ok()) << encoder.error().message;
    EXPECT_EQ((*encoder)->output_sample_rate_hz(), c.expected_rate_hz);
    std::vector<float*> planes;
    for (const auto& ch : signal) planes.push_back(const_cast<float*>(ch.data()));
    ASSERT_TRUE((*encoder)->write(AudioBlock(planes.data(), c.channels, frames)).ok());
    ASSERT_TRUE((*encoder)->commit().ok());

    auto decoded = decode_file(path);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->info.sample_rate_hz, c.expected_rate_hz);
    EXPECT_EQ(decoded->info.channels, c.channels);
    const std::size_t expected_frames = static_cast<std::size_t>(c.expected_rate_hz) * 2;
    const auto got = static_cast<long>(decoded->samples[0].size());
    EXPECT_LE(std::abs(got - static_cast<long>(expected_frames)), static_cast<long>(c.frame_tolerance))
        << "decoded " << got << " frames, expected " << expected_frames;

    const Channels reference = make_onset_sine(c.channels, c.expected_rate_hz, expected_frames,
                                               static_cast<std::size_t>(c.expected_rate_hz) / 4);
    const long lag = measure_lag(reference[0], decoded->samples[0], c.expected_rate_hz);
    // Waveform fidelity with the level factored out (gain-fitted signal-to-error ratio), and the level itself.
    double ref_energy = 0.0;
    double decoded_energy = 0.0;
    double cross = 0.0;
    const long n = static_cast<long>(std::min(reference[0].size(), decoded->samples[0].size()));
    const long begin = c.expected_rate_hz / 2;  // 0.25 s after the onset
    const long end = n - std::abs(lag) - 4096;
    for (std::size_t ch = 0; ch < static_cast<std::size_t>(c.channels); ++ch) {
      for (long i = begin; i < end; ++i) {
        const double r = reference[ch][static_cast<std::size_t>(i)];
        const double d = decoded->samples[ch][static_cast<std::size_t>(i + lag)];
        ref_energy += r * r;
        decoded_energy += d * d;
        cross += r * d;
      }
    }
    const double gain = cross / ref_energy;
    const double fitted_error_energy = decoded_energy - 2.0 * gain * cross + gain * gain * ref_energy;
    const double ser_db = 10.0 * std::log10(gain * gain * ref_energy / fitted_error_energy);
    const double rms_diff_db = 10.0 * std::log10(decoded_energy / ref_energy);
    EXPECT_LE(std::abs(lag), 2) << "encoder delay not compensated";
    EXPECT_GT(ser_db, 30.0) << "lag " << lag;
    EXPECT_NEAR(rms_diff_db, 0.0, 0.5);
    std::printf("[ measured ] %-7s lag %5ld  frames %7ld (expected %7zu)  SER %.1f dB  RMS diff %+.3f dB\n", c.name,
                lag, got, expected_frames, ser_db, rms_diff_db);
  }
}

TEST_F(EncoderTest, TagsAreCarriedIntoEachContainer) {
  const std::vector<std::pair<Format, const char*>> formats = {
      {Format::kWav, "t.wav"}, {Format::kAiff, "t.aiff"},  {Format::kFlac, "t.flac"}, {Format::kMp3, "t.mp3"},
      {Format::kAac, "t.m4a"}, {Format::kVorbis, "t.ogg"}, {Format::kOpus, "t.opus"},
  };
  for (const auto& [format, file] : formats) {
    SCOPED_TRACE(file);
    EncoderOptions options{.format = format, .sample_rate_hz = 44100};
    options.tags = {{"title", "Señor Test (Master)"}, {"artist", "The Spectrum Band"}, {"album", "Unit Tests"}};
    ASSERT_TRUE(encode_file(dir_ / file, options, make_test_signal(2, 44100, 4410)).ok());
    auto decoder = Decoder::open(dir_ / file);
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    const StreamInfo& info = (*decoder)->info();
    std::string all;
    for (const auto& [k, v] : info.tags) all += k + "=" + v + "; ";
    EXPECT_TRUE(has_tag(info, "title", "Señor Test (Master)")) << all;
    EXPECT_TRUE(has_tag(info, "artist", "The Spectrum Band")) << all;
    EXPECT_TRUE(has_tag(info, "album", "Unit Tests")) << all;
    EXPECT_FALSE(has_tag(info, "encoder", "")) << all;
  }
}

TEST_F(EncoderTest, RatesTheFormatCannotCarryAreUnsupported) {
  struct Case {
    Format format;
    int rate;
    const char* format_name;
  };
  for (const Case& c :
       {Case{Format::kMp3, 96000, "MP3"}, Case{Format::kMp3, 88200, "MP3"}, Case{Format::kAac, 192000, "AAC"}}) {
    auto encoder = Encoder::create(dir_ / "x.out", {.format = c.format, .sample_rate_hz = c.rate});
    ASSERT_FALSE(encoder.ok());
    EXPECT_EQ(encoder.error().code, ErrorCode::kUnsupported);
    const std::string& message = encoder.error().message;
    EXPECT_NE(message.find(std::to_string(c.rate)), std::string::npos) << message;
    EXPECT_NE(message.find(c.format_name), std::string::npos) << message;
    EXPECT_NE(message.find("wav or flac"), std::string::npos) << message;
  }
  EXPECT_EQ(entry_count(), 0U) << "nothing left behind";
}

TEST_F(EncoderTest, InvalidOptionsAreRejected) {
  const auto code_for = [&](const EncoderOptions& options) {
    auto encoder = Encoder::create(dir_ / "x.wav", options);
    return encoder.ok() ? std::optional<ErrorCode>() : std::optional<ErrorCode>(encoder.error().code);
  };
  EXPECT_EQ(code_for({.channels = 3}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_for({.channels = 0}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_for({.sample_rate_hz = 4000}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_for({.bits_per_sample = 20}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_for({.format = Format::kMp3, .sample_rate_hz = 44100, .bitrate_kbps = 500}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(entry_count(), 0U);
}

TEST_F(EncoderTest, NothingAppearsBeforeCommitAndTempIsRemovedWithoutIt) {
  const fs::path path = dir_ / "pending.flac";
  const Channels signal = make_test_signal(2, 44100, 10000);
  std::vector<float*> planes = {const_cast<float*>(signal[0].data()), const_cast<float*>(signal[1].data())};
  {
    auto encoder = Encoder::create(path, {.format = Format::kFlac, .sample_rate_hz = 44100});
    ASSERT_TRUE(encoder.ok());
    ASSERT_TRUE((*encoder)->write(AudioBlock(planes.data(), 2, 10000)).ok());
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(entry_count(), 1U) << "only the temporary file";
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(entry_count(), 0U);

  // An error mid-stream (a block with the wrong channel count) removes the temporary file at once.
  auto encoder = Encoder::create(path, {.format = Format::kWav, .sample_rate_hz = 44100});
  ASSERT_TRUE(encoder.ok());
  const Status bad = (*encoder)->write(AudioBlock(planes.data(), 1, 100));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(entry_count(), 0U);
  EXPECT_FALSE((*encoder)->commit().ok());
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(EncoderTest, CommitReplacesAnExistingFile) {
  const fs::path path = dir_ / "song.wav";
  write_bytes(path, std::vector<char>(10, 'x'));
  ASSERT_TRUE(encode_file(path, {.format = Format::kWav, .sample_rate_hz = 22050, .channels = 1},
                          make_test_signal(1, 22050, 2205))
                  .ok());
  auto decoded = decode_file(path);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->samples[0].size(), 2205U);
  EXPECT_EQ(entry_count(), 1U);
}

TEST_F(EncoderTest, MissingOutputDirectoryIsNotFound) {
  auto encoder = Encoder::create(dir_ / "nope" / "out.wav", {});
  ASSERT_FALSE(encoder.ok());
  EXPECT_EQ(encoder.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace spectrum::audio
