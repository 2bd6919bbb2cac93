// Memory stays bounded whatever the file length: decode and encode 20 minutes of stereo 48 kHz
// (460 MB as float) while watching the resident set size.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "audio_test_util.h"

namespace spectrum::audio {
namespace {

using namespace spectrum::audio::testing;

constexpr std::size_t kLongFrames = 48000ULL * 60 * 20;  // 20 minutes
constexpr double kMaxGrowthMb = 64.0;                    // vs 460 MB if the signal were held whole

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

class StreamingTest : public TempDirTest {};

TEST_F(StreamingTest, DecodingALongFileUsesBoundedMemory) {
  const fs::path path = dir_ / "long.flac";
  // Silence compresses to almost nothing in FLAC, so the fixture is small on disk but long in samples.
  ASSERT_TRUE(run_ffmpeg("-f lavfi -i anullsrc=r=48000:cl=stereo -t 1200 -c:a flac " + path.string()));
  const double baseline = resident_mb();
  auto decoder = Decoder::open(path);
  ASSERT_TRUE(decoder.ok()) << decoder.error().message;
  AudioBuffer buffer(2, 8192);
  std::size_t total = 0;
  double peak = baseline;
  for (int i = 0;; ++i) {
    auto n = (*decoder)->read(buffer);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    total += *n;
    if (i % 256 == 0) peak = std::max(peak, resident_mb());
  }
  peak = std::max(peak, resident_mb());
  EXPECT_EQ(total, kLongFrames);
  EXPECT_LT(peak - baseline, kMaxGrowthMb) << "baseline " << baseline << " MB, peak " << peak << " MB";
  std::printf("[ measured ] decode 20 min: RSS growth %.1f MB\n", peak - baseline);
}

TEST_F(StreamingTest, EncodingALongFileUsesBoundedMemory) {
  const fs::path path = dir_ / "long_out.flac";
  const double baseline = resident_mb();
  auto encoder = Encoder::create(path, {.format = Format::kFlac, .sample_rate_hz = 48000, .bits_per_sample = 16});
  ASSERT_TRUE(encoder.ok()) << encoder.error().message;
  AudioBuffer block(2, 8192);
  block.block().clear();
  double peak = baseline;
  std::size_t written = 0;
  for (int i = 0; written < kLongFrames; ++i) {
    const std::size_t count = std::min<std::size_t>(8192, kLongFrames - written);
    ASSERT_TRUE((*encoder)->write(block.block().sub_block(0, count)).ok());
    written += count;
    if (i % 256 == 0) peak = std::max(peak, resident_mb());
  }
  ASSERT_TRUE((*encoder)->commit().ok());
  peak = std::max(peak, resident_mb());
  EXPECT_LT(peak - baseline, kMaxGrowthMb) << "baseline " << baseline << " MB, peak " << peak << " MB";
  std::printf("[ measured ] encode 20 min: RSS growth %.1f MB\n", peak - baseline);
  auto decoder = Decoder::open(path);
  ASSERT_TRUE(decoder.ok());
  EXPECT_EQ((*decoder)->info().duration_frames_estimate, static_cast<std::int64_t>(kLongFrames));
}

}  // namespace
}  // namespace spectrum::audio
