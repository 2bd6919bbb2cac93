// Acceptance bars of the mastering engine on real music: the corpus of docs/real-music-corpus.md, fetched by
// scripts/fetch-corpus.sh (the realmusic_fetch fixture). Every delivered file is measured independently with
// ffmpeg's ebur128 filter. One test per track and bar, so `ctest -L realmusic -j2` runs tracks in parallel.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audio/decoder.h"
#include "dsp/biquad.h"
#include "mastering/album.h"
#include "mastering/chain.h"
#include "mastering/engine.h"
#include "support/ffmpeg_meter.h"
#include "support/scratch_dir.h"
#include "support/wav_file.h"

namespace spectrum::mastering {
namespace {

namespace fs = std::filesystem;

constexpr double kCeilingDbtp = -1.0;  // the default truePeakCeiling

struct CorpusTrack {
  std::string id;
  std::string package;
  std::string path;  // inside the package
  std::string character;
  int rate_hz = 0;
  int channels = 0;
};

// Test names and failure messages show the track's id, not the struct's bytes.
void PrintTo(const CorpusTrack& t, std::ostream* os) {
  *os << t.id;
}

// tests/realmusic/corpus.tsv: '#' comments, a header, then one track a line.
std::vector<CorpusTrack> read_manifest() {
  std::vector<CorpusTrack> tracks;
  std::ifstream in(fs::path(SPECTRUM_SOURCE_DIR) / "tests" / "realmusic" / "corpus.tsv");
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    if (f.size() < 10) continue;
    tracks.push_back({f[0], f[1], f[4], f[7], std::stoi(f[8]), std::stoi(f[9])});
  }
  return tracks;
}

// Same default as scripts/fetch-corpus.sh.
fs::path corpus_dir() {
  if (const char* dir = std::getenv("SPECTRUM_CORPUS_DIR"); dir != nullptr && *dir != '\0') return dir;
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : "/tmp") / ".cache" / "spectrum-corpus";
}

fs::path track_file(const CorpusTrack& t) {
  const fs::path name = fs::path(t.path).filename();
  return corpus_dir() / (t.id + name.extension().string());
}

fs::path temp_dir() {
  return test::scratch_dir();
}

// ffmpeg readings, cached per file within the process.
test::FfmpegLoudness measure(const fs::path& path) {
  static std::mutex mutex;
  static std::map<std::string, test::FfmpegLoudness> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(path.string()); it != cache.end()) return it->second;
  auto m = test::measure_with_ffmpeg(path);
  EXPECT_TRUE(m.ok()) << path << ": " << (m.ok() ? "" : m.error().message);
  const test::FfmpegLoudness value = m.ok() ? *m : test::FfmpegLoudness{};
  cache[path.string()] = value;
  return value;
}

Settings settings_with(const nlohmann::json& j) {
  auto s = parse_settings(j);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : Settings{};
}

struct Delivered {
  MasterReport report;
  fs::path path;
  test::FfmpegLoudness ff;
  bool ok = false;
};

Delivered master(const CorpusTrack& t, const std::string& name, const nlohmann::json& settings) {
  Delivered d;
  d.path = temp_dir() / (t.id + "-" + name);
  MasterJob job;
  job.input = track_file(t);
  job.output = d.path;
  job.settings = settings_with(settings);
  auto report = master_file(job);
  EXPECT_TRUE(report.ok()) << t.id << " " << name << ": " << (report.ok() ? "" : report.error().message);
  if (!report.ok()) return d;
  d.report = *report;
  d.ff = measure(d.path);
  d.ok = true;
  return d;
}

// The engine says so when the ceiling leaves the target out of reach.
bool target_unreachable(const MasterReport& r) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [](const std::string& w) { return w.find("not the target") != std::string::npos; });
}

std::string fixed(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

class RealMusic : public ::testing::TestWithParam<CorpusTrack> {
 protected:
  void SetUp() override {
    if (!fs::exists(track_file(GetParam()))) {
      GTEST_SKIP() << track_file(GetParam())
                   << " is missing: run scripts/fetch-corpus.sh (the realmusic_fetch fixture)";
    }
  }
  test::FfmpegLoudness input() const { return measure(track_file(GetParam())); }

  void record(const std::string& key, double v) { RecordProperty(key, fixed(v)); }
  void summary(const std::string& what, const Delivered& d) {
    const auto in = input();
    std::printf(
        "[realmusic] %-28s %-14s in %6.2f LUFS LRA %5.2f | out %6.2f LUFS LRA %5.2f (x%.2f) TP %6.2f dBTP |"
        " comp GR %5.2f lim GR %5.2f dB | passes %d%s\n",
        GetParam().id.c_str(), what.c_str(), in.integrated_lufs, in.loudness_range_lu, d.ff.integrated_lufs,
        d.ff.loudness_range_lu, in.loudness_range_lu > 0 ? d.ff.loudness_range_lu / in.loudness_range_lu : 0.0,
        d.ff.true_peak_dbtp, d.report.compressor.max_db, d.report.limiter.max_db, d.report.encode_passes,
        target_unreachable(d.report) ? " (target unreachable)" : "");
    record(what + "_in_lra", in.loudness_range_lu);
    record(what + "_out_lufs", d.ff.integrated_lufs);
    record(what + "_out_lra", d.ff.loudness_range_lu);
    record(what + "_out_tp", d.ff.true_peak_dbtp);
    record(what + "_compressor_max_gr", d.report.compressor.max_db);
    record(what + "_limiter_max_gr", d.report.limiter.max_db);
  }
};

// WAV at -14 and -10: on target (±0.1 LU) unless the engine reports the target out of reach; true peak under the
// ceiling on every file. At -14 the loudness range keeps at least 75 % of the input's.
TEST_P(RealMusic, WavOnTargetUnderCeilingKeepsRange) {
  const auto in = input();
  for (double target : {-14.0, -10.0}) {
    SCOPED_TRACE("target " + fixed(target, 0));
    const auto d = master(GetParam(), "wav" + fixed(-target, 0) + ".wav", {{"targetLoudness", target}});
    ASSERT_TRUE(d.ok);
    summary("wav" + fixed(target, 0), d);
    if (target_unreachable(d.report)) {
      RecordProperty("wav" + fixed(target, 0) + "_loudness_check", "skipped: engine reports the target unreachable");
      std::printf("[realmusic] %s: target %.0f unreachable (engine warning), loudness check skipped\n",
                  GetParam().id.c_str(), target);
    } else {
      EXPECT_NEAR(d.ff.integrated_lufs, target, 0.1);
    }
    EXPECT_LE(d.ff.true_peak_dbtp, kCeilingDbtp + 0.0);
    if (target == -14.0) {
      EXPECT_GE(d.ff.loudness_range_lu, 0.75 * in.loudness_range_lu);
    }
  }
}

// Compression ratio 1 -> 4 -> 10 at -14: the loudness range never grows.
TEST_P(RealMusic, LoudnessRangeFallsWithRatio) {
  double previous = INFINITY;
  for (double ratio : {1.0, 4.0, 10.0}) {
    const auto d = master(GetParam(), "ratio" + fixed(ratio, 0) + ".wav", {{"compressionRatio", ratio}});
    ASSERT_TRUE(d.ok);
    summary("ratio" + fixed(ratio, 0), d);
    EXPECT_LE(d.ff.loudness_range_lu, previous + 1e-9) << "ratio " << ratio;
    previous = d.ff.loudness_range_lu;
  }
}

// Everything the decoder gives, planar.
std::vector<std::vector<float>> decode_all(const fs::path& path, int* rate_hz, int* bits) {
  auto decoder = audio::Decoder::open(path);
  EXPECT_TRUE(decoder.ok()) << path;
  if (!decoder.ok()) return {};
  const auto& info = (*decoder)->info();
  *rate_hz = info.sample_rate_hz;
  if (bits != nullptr) *bits = info.is_float ? 0 : info.bits_per_sample;
  std::vector<std::vector<float>> out(static_cast<std::size_t>(info.channels));
  AudioBuffer buffer(info.channels, 8192);
  for (;;) {
    auto n = (*decoder)->read(buffer);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    for (int c = 0; c < info.channels; ++c) {
      out[static_cast<std::size_t>(c)].insert(out[static_cast<std::size_t>(c)].end(), buffer.channel(c),
                                              buffer.channel(c) + *n);
    }
  }
  return out;
}

// Neutral settings at a target the limiter need not reach: the output is gain x the 20 Hz high-passed input.
TEST_P(RealMusic, NeutralSettingsNullAgainstHighPassedInput) {
  const auto in = input();
  // Under the limiter's own ceiling (the file's ceiling minus its 0.3 dB margin) by 1 dB, which covers what the
  // 20 Hz high-pass adds to the peaks of clipped sources.
  double target = std::min(-10.0, in.integrated_lufs + (kCeilingDbtp - 0.3 - in.true_peak_dbtp) - 1.0);
  if (target < -20.0) GTEST_SKIP() << "no target in -20..-10 leaves the limiter idle (wanted " << target << ")";
  // The source as 32-bit float WAV (exact for any decoded source), so the delivery is float too and the null
  // is not bounded by a 16-bit output's dither.
  int rate = 0;
  auto ref = decode_all(track_file(GetParam()), &rate, nullptr);
  ASSERT_FALSE(ref.empty());
  test::WavData source;
  source.sample_rate_hz = rate;
  source.channels = ref;
  const fs::path float_input = temp_dir() / (GetParam().id + "-float.wav");
  ASSERT_TRUE(test::write_wav_float(float_input, source).ok());
  // The high-pass can lift a clipped source's peaks further; where the limiter still acted, step the target
  // down by what it took (bounded), so the run tests the chain with the limiter idle.
  MasterJob job;
  job.input = float_input;
  job.output = temp_dir() / (GetParam().id + "-null.wav");
  Expected<MasterReport> report = make_error(ErrorCode::kInternal, "not run");
  for (int attempt = 0; attempt < 3 && target >= -20.0; ++attempt) {
    job.settings = settings_with({{"targetLoudness", target},
                                  {"compressionRatio", 1},
                                  {"tonalMatch", 0},
                                  {"eqProfile", "neutral"},
                                  {"stereoWidth", 100}});
    report = master_file(job);
    ASSERT_TRUE(report.ok()) << report.error().message;
    if (report->limiter.max_db == 0.0) break;
    target -= report->limiter.max_db + 0.5;
  }
  if (target < -20.0) GTEST_SKIP() << "no target in -20..-10 leaves the limiter idle";
  ASSERT_EQ(report->limiter.max_db, 0.0) << "precondition: the limiter must be idle at " << target << " LUFS";
  Delivered d;
  d.report = *report;
  d.path = job.output;
  d.ff = measure(d.path);
  summary("null", d);

  int out_rate = 0;
  int out_bits = 0;
  const auto out = decode_all(d.path, &out_rate, &out_bits);
  ASSERT_EQ(out_bits, 0) << "a float source is delivered as float";
  ASSERT_EQ(ref.size(), out.size());
  ASSERT_EQ(rate, out_rate);
  dsp::ButterworthHighPass hp;
  const int channels = static_cast<int>(ref.size());
  const std::size_t frames = ref[0].size();
  hp.prepare(ProcessSpec{static_cast<double>(rate), frames, channels}, kSubsonicCutoffHz);
  hp.reset();
  std::vector<float*> ptrs;
  for (auto& ch : ref) ptrs.push_back(ch.data());
  hp.process(AudioBlock(ptrs.data(), channels, frames));

  // The engine delivers the input's length without delay; verify rather than assume: best lag in +-4096 frames,
  // read on a 2^16-frame window in the middle.
  const std::size_t n = std::min(frames, out[0].size());
  long best_lag = 0;
  double best = -1.0;
  const std::size_t win = std::min<std::size_t>(65536, n / 2);
  const std::size_t start = n / 2 - win / 2;
  for (long lag = -4096; lag <= 4096; ++lag) {
    double acc = 0.0;
    for (std::size_t i = start; i < start + win; ++i) {
      const long j = static_cast<long>(i) - lag;
      if (j >= 0 && j < static_cast<long>(n))
        acc += static_cast<double>(out[0][i]) * static_cast<double>(ref[0][static_cast<std::size_t>(j)]);
    }
    if (acc > best) {
      best = acc;
      best_lag = lag;
    }
  }
  const double g = std::pow(10.0, d.report.gain_applied_db / 20.0);
  double err = 0.0;
  double sig = 0.0;
  for (int c = 0; c < channels; ++c) {
    for (std::size_t i = 0; i < n; ++i) {
      const long j = static_cast<long>(i) - best_lag;
      const double r = (j >= 0 && j < static_cast<long>(frames))
                           ? static_cast<double>(ref[static_cast<std::size_t>(c)][static_cast<std::size_t>(j)])
                           : 0.0;
      const double o = static_cast<double>(out[static_cast<std::size_t>(c)][i]);
      err += (o - g * r) * (o - g * r);
      sig += o * o;
    }
  }
  const double residual_db = 10.0 * std::log10(err / sig);
  const double bar_db = -100.0;
  std::printf(
      "[realmusic] %-28s null: target %.2f gain %.3f dB lag %ld frames, residual %.1f dB (bar %.1f dB, %d-bit)\n",
      GetParam().id.c_str(), target, d.report.gain_applied_db, best_lag, residual_db, bar_db, out_bits);
  record("null_residual_db", residual_db);
  record("null_bar_db", bar_db);
  EXPECT_EQ(best_lag, 0) << "the output is delayed against the input";
  EXPECT_EQ(out[0].size(), frames) << "output length differs from the input's";
  EXPECT_LT(residual_db, bar_db);
}

// Lossy at -14: loudness +-0.2 LU, true peak under the ceiling, and no more than 0.6 dB under it where the
// limiter worked (the engine must not buy lossy safety with a blanket margin).
void check_lossy(RealMusic& test, const Delivered& d) {
  if (target_unreachable(d.report)) {
    std::printf("[realmusic] %s: target unreachable (engine warning), loudness check skipped\n",
                test.GetParam().id.c_str());
  } else {
    EXPECT_NEAR(d.ff.integrated_lufs, -14.0, 0.2);
  }
  EXPECT_LE(d.ff.true_peak_dbtp, kCeilingDbtp + 0.0);
  if (d.report.limiter.max_db > 0.1) {
    EXPECT_GE(d.ff.true_peak_dbtp, kCeilingDbtp - 0.6);
  }
}

TEST_P(RealMusic, Mp3At320OnTargetAndAtCeiling) {
  const auto d = master(GetParam(), "out.mp3", {{"bitrate", 320}});
  ASSERT_TRUE(d.ok);
  summary("mp3", d);
  check_lossy(*this, d);
}

TEST_P(RealMusic, AacAt256OnTargetAndAtCeiling) {
  const auto d = master(GetParam(), "out.m4a", {{"bitrate", 256}});
  ASSERT_TRUE(d.ok);
  summary("aac", d);
  check_lossy(*this, d);
}

std::string track_name(const ::testing::TestParamInfo<CorpusTrack>& info) {
  std::string s = info.param.id;
  for (auto& c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Corpus, RealMusic, ::testing::ValuesIn(read_manifest()), track_name);

const CorpusTrack& corpus_track(const std::string& id) {
  static const std::vector<CorpusTrack> manifest = read_manifest();
  const auto it = std::find_if(manifest.begin(), manifest.end(), [&](const CorpusTrack& t) { return t.id == id; });
  EXPECT_NE(it, manifest.end()) << id;
  return *it;
}

// Four recordings from -8 to -18 LUFS mastered as one album: the loudest lands on the target, every pair keeps
// its loudness difference, every file stays under the ceiling (all by ffmpeg's meter).
TEST(RealMusicAlbum, LoudestOnTargetDifferencesKeptEveryTrackUnderTheCeiling) {
  const std::vector<std::string> ids = {"loud-ninesix", "tracker-heroes05", "dynamic-advanced-simulacra",
                                        "headroom-a-new-journey"};
  AlbumJob job;
  job.settings = settings_with({{"targetLoudness", -14}});
  const fs::path out = temp_dir() / "album";
  fs::create_directories(out);
  std::vector<double> input_lufs;
  for (const auto& id : ids) {
    const CorpusTrack& track = corpus_track(id);
    job.tracks.push_back({track_file(track), out / (id + ".wav")});
    input_lufs.push_back(measure(track_file(track)).integrated_lufs);
  }
  auto album = master_album(job);
  ASSERT_TRUE(album.ok()) << album.error().message;
  std::vector<double> output_lufs;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto ff = measure(job.tracks[i].output);
    std::cout << "[ MEASURED ] " << ids[i] << ": " << fixed(input_lufs[i]) << " -> " << fixed(ff.integrated_lufs)
              << " LUFS (target " << fixed(album->track_targets_lufs[i]) << "), " << fixed(ff.true_peak_dbtp)
              << " dBTP\n";
    output_lufs.push_back(ff.integrated_lufs);
    EXPECT_LE(ff.true_peak_dbtp, kCeilingDbtp + 0.05) << ids[i];
  }
  const auto loudest = std::max_element(input_lufs.begin(), input_lufs.end()) - input_lufs.begin();
  EXPECT_NEAR(output_lufs[loudest], -14.0, 0.1) << ids[loudest] << " is the loudest and lands on the target";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (std::size_t j = i + 1; j < ids.size(); ++j) {
      EXPECT_NEAR(output_lufs[i] - output_lufs[j], input_lufs[i] - input_lufs[j], 0.3) << ids[i] << " vs " << ids[j];
    }
  }
}

// One track that is not audio fails the album with its name, and no master of any track is left behind.
TEST(RealMusicAlbum, AFailingTrackLeavesNothingBehind) {
  const fs::path out = temp_dir() / "album-failing";
  fs::create_directories(out);
  const fs::path bad = out / "not-audio.wav";
  std::ofstream(bad) << std::string(4096, 'x');
  AlbumJob job;
  job.tracks = {{track_file(corpus_track("tracker-heroes05")), out / "a.wav"},
                {bad, out / "b.wav"},
                {track_file(corpus_track("loud-ninesix")), out / "c.wav"}};
  auto album = master_album(job);
  ASSERT_FALSE(album.ok());
  EXPECT_NE(album.error().message.find("not-audio.wav"), std::string::npos) << album.error().message;
  for (const auto& track : job.tracks) EXPECT_FALSE(fs::exists(track.output)) << track.output;

  // A failure while mastering, after other tracks were written: their masters are removed too.
  job.parallel = 1;  // in order, so track 1 is written before track 2 fails
  job.tracks[1] = {track_file(corpus_track("mono8k-morning-coffee")), out / "no such folder" / "b.wav"};
  auto late = master_album(job);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("track 2"), std::string::npos) << late.error().message;
  for (const auto& track : job.tracks) EXPECT_FALSE(fs::exists(track.output)) << track.output;
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace spectrum::mastering
