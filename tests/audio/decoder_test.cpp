#include "audio/decoder.h"

#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "audio_test_util.h"

namespace spectrum::audio {
namespace {

using namespace spectrum::audio::testing;

class DecoderTest : public TempDirTest {
 protected:
  // Expects a kCorruptInput error that names the file but not the directory it is in.
  void expect_corrupt(const fs::path& path) {
    auto decoder = Decoder::open(path);
    ASSERT_FALSE(decoder.ok()) << path.filename();
    EXPECT_EQ(decoder.error().code, ErrorCode::kCorruptInput) << decoder.error().message;
    EXPECT_EQ(decoder.error().message.rfind("not a decodable audio file: ", 0), 0U) << decoder.error().message;
    EXPECT_NE(decoder.error().message.find(path.filename().string()), std::string::npos) << decoder.error().message;
    EXPECT_EQ(decoder.error().message.find(dir_.string()), std::string::npos)
        << "message leaks the directory: " << decoder.error().message;
  }
};

// A mono IEEE-float WAV written byte by byte, so the decoder sees the exact bit patterns.
std::vector<char> float_wav(const std::vector<float>& samples, int sample_rate_hz) {
  std::vector<char> bytes;
  const auto put = [&](const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    bytes.insert(bytes.end(), p, p + size);
  };
  const auto u32 = [&](std::uint32_t v) { put(&v, 4); };  // the test host is little-endian, like WAV
  const auto u16 = [&](std::uint16_t v) { put(&v, 2); };
  const auto data_bytes = static_cast<std::uint32_t>(samples.size() * 4);
  put("RIFF", 4);
  u32(4 + 8 + 16 + 8 + data_bytes);
  put("WAVE", 4);
  put("fmt ", 4);
  u32(16);
  u16(3);  // WAVE_FORMAT_IEEE_FLOAT
  u16(1);
  u32(static_cast<std::uint32_t>(sample_rate_hz));
  u32(static_cast<std::uint32_t>(sample_rate_hz) * 4);
  u16(4);
  u16(32);
  put("data", 4);
  u32(data_bytes);
  put(samples.data(), data_bytes);
  return bytes;
}

TEST_F(DecoderTest, MissingFileIsNotFound) {
  auto decoder = Decoder::open(dir_ / "absent.wav");
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.error().code, ErrorCode::kNotFound);
  EXPECT_NE(decoder.error().message.find("absent.wav"), std::string::npos);
  EXPECT_EQ(decoder.error().message.find(dir_.string()), std::string::npos) << decoder.error().message;
}

TEST_F(DecoderTest, EmptyFileIsCorrupt) {
  write_bytes(dir_ / "empty.wav", {});
  expect_corrupt(dir_ / "empty.wav");
}

TEST_F(DecoderTest, TextFileIsCorrupt) {
  const std::string text = "This is not audio.\nJust a few lines of text that a user uploaded by mistake.\n";
  std::vector<char> bytes;
  for (int i = 0; i < 50; ++i) bytes.insert(bytes.end(), text.begin(), text.end());
  write_bytes(dir_ / "notes.txt", bytes);
  expect_corrupt(dir_ / "notes.txt");
  write_bytes(dir_ / "notes.mp3", bytes);  // a misleading extension changes nothing
  expect_corrupt(dir_ / "notes.mp3");
}

TEST_F(DecoderTest, RandomBytesAreCorrupt) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    std::mt19937 rng(seed);
    std::vector<char> bytes(64 * 1024);
    for (char& b : bytes) b = static_cast<char>(rng() & 0xFF);
    const fs::path path = dir_ / ("random" + std::to_string(seed) + ".wav");
    write_bytes(path, bytes);
    expect_corrupt(path);
  }
}

TEST_F(DecoderTest, PngIsCorrupt) {
  const fs::path png = dir_ / "cover.png";
  ASSERT_TRUE(run_ffmpeg("-f lavfi -i color=c=red:s=16x16 -frames:v 1 " + png.string()));
  expect_corrupt(png);
}

TEST_F(DecoderTest, VideoWithoutAudioIsCorrupt) {
  const fs::path video = dir_ / "silent_film.mkv";
  ASSERT_TRUE(run_ffmpeg("-f lavfi -i color=c=blue:s=32x32:d=0.2 -c:v ffv1 " + video.string()));
  expect_corrupt(video);
}

TEST_F(DecoderTest, TruncatedWavHeaderIsCorrupt) {
  const fs::path full = dir_ / "full.wav";
  ASSERT_TRUE(encode_file(full, {.format = Format::kWav, .sample_rate_hz = 48000, .channels = 2},
                          make_test_signal(2, 48000, 4800))
                  .ok());
  const std::vector<char> bytes = read_bytes(full);
  for (const std::size_t keep : {4U, 12U, 20U, 30U, 40U}) {
    const fs::path cut = dir_ / ("cut" + std::to_string(keep) + ".wav");
    write_bytes(cut, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)));
    expect_corrupt(cut);
  }
}

TEST_F(DecoderTest, TruncatedWavBodyDecodesWhatIsThere) {
  const fs::path full = dir_ / "full.wav";
  const Channels signal = make_test_signal(2, 48000, 48000);
  ASSERT_TRUE(
      encode_file(
          full,
          {.format = Format::kWav, .sample_rate_hz = 48000, .channels = 2, .bits_per_sample = 32, .is_float = true},
          signal)
          .ok());
  std::vector<char> bytes = read_bytes(full);
  const std::size_t header = bytes.size() - 48000 * 8;
  const std::size_t kept_frames = 10000;
  bytes.resize(header + kept_frames * 8 + 3);  // and a torn last frame
  write_bytes(dir_ / "cut.wav", bytes);
  auto decoded = decode_file(dir_ / "cut.wav");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->samples[0].size(), kept_frames);
  EXPECT_EQ(max_abs_error(decoded->samples[0], signal[0]), 0.0);
  EXPECT_EQ(max_abs_error(decoded->samples[1], signal[1]), 0.0);
}

TEST_F(DecoderTest, TruncatedMp3DecodesWhatIsThere) {
  const fs::path full = dir_ / "full.mp3";
  ASSERT_TRUE(encode_file(full, {.format = Format::kMp3, .sample_rate_hz = 44100, .channels = 2},
                          make_test_signal(2, 44100, 44100 * 2))
                  .ok());
  std::vector<char> bytes = read_bytes(full);
  bytes.resize(bytes.size() / 2);
  write_bytes(dir_ / "half.mp3", bytes);
  auto decoded = decode_file(dir_ / "half.mp3");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  // Roughly the first second survives; the exact count depends on where the cut fell in a frame.
  EXPECT_GT(decoded->samples[0].size(), 44100U * 8 / 10);
  EXPECT_LT(decoded->samples[0].size(), 44100U * 12 / 10);
}

TEST_F(DecoderTest, SixChannelsAreUnsupported) {
  const fs::path path = dir_ / "surround.wav";
  ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000:duration=0.2 -ac 6 -c:a pcm_s16le " +
                         path.string()));
  auto decoder = Decoder::open(path);
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(decoder.error().message, "input has 6 channels; only mono and stereo are supported");
}

TEST_F(DecoderTest, NonFiniteFloatSamplesAreZeroedAndCounted) {
  std::vector<float> samples(1000);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = 0.001F * static_cast<float>(i % 500) - 0.25F;
  const std::vector<std::size_t> bad = {0, 17, 500, 998, 999};
  samples[0] = std::numeric_limits<float>::quiet_NaN();
  samples[17] = std::numeric_limits<float>::infinity();
  samples[500] = -std::numeric_limits<float>::infinity();
  samples[998] = -std::numeric_limits<float>::quiet_NaN();
  samples[999] = std::numeric_limits<float>::signaling_NaN();
  write_bytes(dir_ / "nan.wav", float_wav(samples, 44100));

  auto decoded = decode_file(dir_ / "nan.wav");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_TRUE(decoded->info.is_float);
  ASSERT_EQ(decoded->samples[0].size(), samples.size());
  EXPECT_EQ(decoded->nonfinite, 5);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const bool replaced = std::find(bad.begin(), bad.end(), i) != bad.end();
    EXPECT_EQ(decoded->samples[0][i], replaced ? 0.0F : samples[i]) << "sample " << i;
  }
}

TEST_F(DecoderTest, ReportsStreamInfoPerFormat) {
  struct Case {
    EncoderOptions options;
    const char* file;
    const char* container;
    const char* codec;
    int bits;
    bool is_float;
    int rate;
  };
  const std::vector<Case> cases = {
      {{.format = Format::kWav, .sample_rate_hz = 44100, .bits_per_sample = 16},
       "a.wav",
       "wav",
       "pcm_s16le",
       16,
       false,
       44100},
      {{.format = Format::kWav, .sample_rate_hz = 44100, .bits_per_sample = 24},
       "b.wav",
       "wav",
       "pcm_s24le",
       24,
       false,
       44100},
      {{.format = Format::kWav, .sample_rate_hz = 44100, .bits_per_sample = 32, .is_float = true},
       "c.wav",
       "wav",
       "pcm_f32le",
       32,
       true,
       44100},
      {{.format = Format::kAiff, .sample_rate_hz = 44100, .bits_per_sample = 24},
       "d.aiff",
       "aiff",
       "pcm_s24be",
       24,
       false,
       44100},
      {{.format = Format::kFlac, .sample_rate_hz = 44100, .bits_per_sample = 16},
       "e.flac",
       "flac",
       "flac",
       16,
       false,
       44100},
      {{.format = Format::kFlac, .sample_rate_hz = 44100, .bits_per_sample = 24},
       "f.flac",
       "flac",
       "flac",
       24,
       false,
       44100},
      {{.format = Format::kMp3, .sample_rate_hz = 44100}, "g.mp3", "mp3", "mp3", 0, false, 44100},
      {{.format = Format::kAac, .sample_rate_hz = 44100}, "h.m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac", 0, false, 44100},
      {{.format = Format::kVorbis, .sample_rate_hz = 44100}, "i.ogg", "ogg", "vorbis", 0, false, 44100},
      {{.format = Format::kOpus, .sample_rate_hz = 44100}, "j.opus", "ogg", "opus", 0, false, 48000},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    ASSERT_TRUE(encode_file(dir_ / c.file, c.options, make_test_signal(2, 44100, 22050)).ok());
    auto decoder = Decoder::open(dir_ / c.file);
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    const StreamInfo& info = (*decoder)->info();
    EXPECT_EQ(info.container, c.container);
    EXPECT_EQ(info.codec, c.codec);
    EXPECT_EQ(info.bits_per_sample, c.bits);
    EXPECT_EQ(info.is_float, c.is_float);
    EXPECT_EQ(info.sample_rate_hz, c.rate);
    EXPECT_EQ(info.channels, 2);
    ASSERT_TRUE(info.format.has_value());
    EXPECT_EQ(*info.format, c.options.format);
    if (c.bits > 0) {
      EXPECT_EQ(info.duration_frames_estimate, 22050);
    } else {  // lossy containers know the length up to codec padding
      EXPECT_NEAR(static_cast<double>(info.duration_frames_estimate), c.rate / 2.0, 3000.0);
    }
  }
}

// Callers hold info() across passes; rewind() reopens the file but must not move what info() refers to.
TEST_F(DecoderTest, InfoStaysValidAcrossRewind) {
  ASSERT_TRUE(
      encode_file(dir_ / "i.flac", {.format = Format::kFlac, .sample_rate_hz = 44100}, make_test_signal(2, 44100, 4410))
          .ok());
  auto decoder = Decoder::open(dir_ / "i.flac");
  ASSERT_TRUE(decoder.ok());
  const StreamInfo* before = &(*decoder)->info();
  const std::string codec = before->codec;
  ASSERT_TRUE((*decoder)->rewind().ok());
  EXPECT_EQ(&(*decoder)->info(), before);
  EXPECT_EQ(before->codec, codec);
  EXPECT_EQ(before->sample_rate_hz, 44100);
}

TEST_F(DecoderTest, RewindAndReopenYieldIdenticalSamples) {
  for (const auto& [format, file] : std::vector<std::pair<Format, const char*>>{
           {Format::kFlac, "r.flac"}, {Format::kMp3, "r.mp3"}, {Format::kAac, "r.m4a"}, {Format::kOpus, "r.opus"}}) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(
        encode_file(dir_ / file, {.format = format, .sample_rate_hz = 48000}, make_test_signal(2, 48000, 48000)).ok());
    auto decoder = Decoder::open(dir_ / file);
    ASSERT_TRUE(decoder.ok()) << decoder.error().message;
    auto first = read_rest(**decoder, 1000);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE((*decoder)->rewind().ok());
    auto second = read_rest(**decoder, 4096);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*first, *second) << "after rewind";

    // Rewinding mid-stream restarts from the first sample too.
    AudioBuffer partial(2, 777);
    ASSERT_TRUE((*decoder)->rewind().ok());
    ASSERT_TRUE((*decoder)->read(partial).ok());
    ASSERT_TRUE((*decoder)->rewind().ok());
    auto third = read_rest(**decoder, 65536);
    ASSERT_TRUE(third.ok());
    EXPECT_EQ(*first, *third) << "after a partial read and rewind";

    auto other = decode_file(dir_ / file, 333);
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(*first, other->samples) << "a second decoder";

    // A decoder that has handed out nothing is already at the first sample (open() decoded one frame).
    auto fresh = Decoder::open(dir_ / file);
    ASSERT_TRUE(fresh.ok());
    ASSERT_TRUE((*fresh)->rewind().ok());
    ASSERT_TRUE((*fresh)->rewind().ok());
    auto fourth = read_rest(**fresh, 500);
    ASSERT_TRUE(fourth.ok());
    EXPECT_EQ(*first, *fourth) << "after a rewind before any read";
  }
}

TEST_F(DecoderTest, ReadFillsTheBufferUntilTheEnd) {
  ASSERT_TRUE(encode_file(dir_ / "s.wav", {.format = Format::kWav, .sample_rate_hz = 8000, .channels = 1},
                          make_test_signal(1, 8000, 10000))
                  .ok());
  auto decoder = Decoder::open(dir_ / "s.wav");
  ASSERT_TRUE(decoder.ok());
  AudioBuffer buffer(1, 3000);
  std::vector<std::size_t> counts;
  while (true) {
    auto n = (*decoder)->read(buffer);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(buffer.num_frames(), *n);
    counts.push_back(*n);
    if (*n == 0) break;
  }
  EXPECT_EQ(counts, (std::vector<std::size_t>{3000, 3000, 3000, 1000, 0}));
  AudioBuffer stereo(2, 100);
  auto wrong = (*decoder)->read(stereo);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DecoderTest, DecodesFilesMadeByTheFfmpegTool) {
  // Independent fixtures: ffmpeg's own sine source through its own muxers.
  struct Case {
    const char* file;
    const char* codec_args;
    int bits;
  };
  for (const Case& c : {Case{"tool16.wav", "-c:a pcm_s16le", 16}, Case{"tool.aiff", "-c:a pcm_s16be", 16},
                        Case{"tool.flac", "-c:a flac -sample_fmt s32", 24}, Case{"toolf.wav", "-c:a pcm_f32le", 32}}) {
    SCOPED_TRACE(c.file);
    const fs::path path = dir_ / c.file;
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=frequency=1000:sample_rate=32000:duration=0.5 " +
                           std::string(c.codec_args) + " " + path.string()));
    auto decoded = decode_file(path);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->info.sample_rate_hz, 32000);
    EXPECT_EQ(decoded->info.channels, 1);
    EXPECT_EQ(decoded->info.bits_per_sample, c.bits);
    ASSERT_EQ(decoded->samples[0].size(), 16000U);
    // ffmpeg's sine source has amplitude 1/8: the peak must be 0.125 within 16-bit quantisation.
    float peak = 0.0F;
    for (float s : decoded->samples[0]) peak = std::max(peak, std::abs(s));
    EXPECT_NEAR(peak, 0.125, 2.0 / 32768.0);
  }
}

}  // namespace
}  // namespace spectrum::audio

namespace spectrum::audio {
namespace {

using namespace spectrum::audio::testing;

class DecoderEdgeTest : public TempDirTest {};

// A well-formed WAV with no samples opens as no audio at all: there is nothing to master.
TEST_F(DecoderEdgeTest, ValidHeaderWithoutSamplesIsCorrupt) {
  auto encoder = Encoder::create(dir_ / "none.wav", {.format = Format::kWav, .sample_rate_hz = 44100});
  ASSERT_TRUE(encoder.ok());
  ASSERT_TRUE((*encoder)->commit().ok());
  ASSERT_TRUE(fs::exists(dir_ / "none.wav"));
  auto decoder = Decoder::open(dir_ / "none.wav");
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.error().code, ErrorCode::kCorruptInput);
  EXPECT_EQ(decoder.error().message, "not a decodable audio file: none.wav (it contains no audio samples)");
}

}  // namespace
}  // namespace spectrum::audio
