// Test helpers: temporary directories, generated signals, and whole-file encode/decode.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "audio/decoder.h"
#include "audio/encoder.h"

namespace spectrum::audio::testing {

namespace fs = std::filesystem;

using Channels = std::vector<std::vector<float>>;

// A fresh directory per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(test->test_suite_name()) + "_" + test->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    dir_ = fs::temp_directory_path() / ("spectrum_audio_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  [[nodiscard]] std::size_t entry_count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }

  fs::path dir_;
};

// Channel 0: a sine at `freq_hz`; channel 1: a sine at 1.5 x freq plus a little seeded noise, so the
// channels differ and a swap would be caught.
inline Channels make_test_signal(int channels, int sample_rate_hz, std::size_t frames, double freq_hz = 1000.0,
                                 double amplitude = 0.5, std::uint32_t seed = 7) {
  Channels out(static_cast<std::size_t>(channels), std::vector<float>(frames));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> noise(-0.05, 0.05);
  for (std::size_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / sample_rate_hz;
    out[0][i] = static_cast<float>(amplitude * std::sin(2.0 * std::numbers::pi * freq_hz * t));
    if (channels > 1) {
      out[1][i] =
          static_cast<float>(amplitude * 0.8 * std::sin(2.0 * std::numbers::pi * 1.5 * freq_hz * t + 0.3) + noise(rng));
    }
  }
  return out;
}

inline Channels make_sine(int channels, int sample_rate_hz, std::size_t frames, double freq_hz, double amplitude) {
  Channels out(static_cast<std::size_t>(channels), std::vector<float>(frames));
  for (auto& ch : out) {
    for (std::size_t i = 0; i < frames; ++i) {
      ch[i] = static_cast<float>(amplitude *
                                 std::sin(2.0 * std::numbers::pi * freq_hz * static_cast<double>(i) / sample_rate_hz));
    }
  }
  return out;
}

// Encodes `signal` in blocks of `block_frames` and commits.
inline Status encode_file(const fs::path& path, const EncoderOptions& options, const Channels& signal,
                          std::size_t block_frames = 4096) {
  auto encoder = Encoder::create(path, options);
  if (!encoder) return std::move(encoder).error();
  const std::size_t frames = signal.empty() ? 0 : signal[0].size();
  std::vector<float*> planes;
  for (const auto& ch : signal) planes.push_back(const_cast<float*>(ch.data()));
  for (std::size_t offset = 0; offset < frames; offset += block_frames) {
    const std::size_t count = std::min(block_frames, frames - offset);
    const AudioBlock block(planes.data(), static_cast<int>(planes.size()), frames);
    SPECTRUM_TRY((*encoder)->write(block.sub_block(offset, count)));
  }
  return (*encoder)->commit();
}

struct Decoded {
  StreamInfo info;
  Channels samples;
  std::int64_t nonfinite = 0;
};

inline Expected<Channels> read_rest(Decoder& decoder, std::size_t capacity = 4096) {
  AudioBuffer buffer(decoder.info().channels, capacity);
  Channels out(static_cast<std::size_t>(decoder.info().channels));
  while (true) {
    auto n = decoder.read(buffer);
    if (!n) return std::move(n).error();
    if (*n == 0) break;
    for (int c = 0; c < decoder.info().channels; ++c) {
      out[static_cast<std::size_t>(c)].insert(out[static_cast<std::size_t>(c)].end(), buffer.channel(c),
                                              buffer.channel(c) + *n);
    }
  }
  return out;
}

inline Expected<Decoded> decode_file(const fs::path& path, std::size_t capacity = 4096) {
  auto decoder = Decoder::open(path);
  if (!decoder) return std::move(decoder).error();
  auto samples = read_rest(**decoder, capacity);
  if (!samples) return std::move(samples).error();
  return Decoded{(*decoder)->info(), std::move(samples).value(), (*decoder)->nonfinite_samples_replaced()};
}

inline std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline double max_abs_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return worst;
}

// Runs the ffmpeg command-line tool (quiet, never interactive). Returns true on success.
inline bool run_ffmpeg(const std::string& args) {
  const std::string command = "ffmpeg -nostdin -hide_banner -loglevel error -y " + args + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

inline bool has_tag(const StreamInfo& info, const std::string& key, const std::string& value) {
  for (const auto& [k, v] : info.tags) {
    if (k == key && v == value) return true;
  }
  return false;
}

}  // namespace spectrum::audio::testing
