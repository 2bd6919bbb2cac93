// The engine's passes over a track:
//   1. analyse the input (loudness, range, peaks, loud-section spectrum) and, if it fits the memory budget,
//      keep the decoded samples;
//   2. design the chain; run the pre-limiter stages once (in place in memory, or on the fly when streaming)
//      and measure the result;
//   3. closed loudness loop: gain -> limiter -> measure -> correct, until the target is met;
//   4. write the output; measure the delivered file (lossy files are decoded again) and correct if it misses the
//      loudness target or the true-peak ceiling.
// Long tracks never sit in memory: every pass re-decodes them, so memory stays bounded whatever the duration.
#include "mastering/engine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "audio/decoder.h"
#include "audio/encoder.h"
#include "common/atomic_file.h"
#include "dsp/max_abs.h"
#include "dsp/units.h"
#include "mastering/analysis.h"
#include "mastering/block_pipeline.h"
#include "mastering/chain.h"
#include "mastering/codec_trial.h"
#include "mastering/frame_source.h"
#include "mastering/limiting_model.h"
#include "mastering/loudness_loop.h"

namespace spectrum::mastering {
namespace {

// The loop's own aim and what counts as reached are in mastering/loudness_loop.h. The delivered file (which
// the encoder may shift a little from the loop's measurement) is redone when it misses by more than these:
constexpr double kPcmToleranceLu = 0.08;
constexpr double kLossyToleranceLu = 0.15;  // lossy re-encodes are costly; the codec itself wobbles ~0.05
constexpr int kMaxDeliveryAttempts = 4;
// A delivered file over the true-peak ceiling is redone with the limiter (or, last, a static trim) this much
// further under it than the overshoot.
constexpr double kTruePeakRetryMarginDb = 0.1;
// The limiter aims this far under the ceiling. Its detector reads the ideal peak within 0.03 dB for content up to
// 0.45 fs, but clipped sources carry energy above that; on them ffmpeg's meter reads up to 0.2 dB higher.
constexpr double kPcmCeilingMarginDb = 0.3;

// Lossy output aims the limiter at the ceiling minus the codec's overshoot that a trial encode measured
// (mastering/codec_trial.h), minus the format's safety margin (audio/format.h). A codec that lowers the peaks
// (a low-rate MP3's low-pass) lets the limiter aim over the ceiling, by at most this.
constexpr double kMaxCodecUndershootDb = 1.0;

std::string format_label(const audio::StreamInfo& info) {
  return info.container + " (" + info.codec + ")";
}

// Reports progress across the passes as one fraction.
class Progress {
 public:
  explicit Progress(const ProgressCallback& callback) : callback_(callback) {}
  void stage(std::string_view name, double start, double end, std::int64_t total_frames, int pass = 0) {
    name_ = name;
    pass_ = pass;
    start_ = start;
    end_ = end;
    total_ = std::max<std::int64_t>(total_frames, 1);
    report(0);
  }
  void report(std::int64_t frames_done) const {
    if (!callback_) return;
    const double t = std::min(1.0, static_cast<double>(frames_done) / static_cast<double>(total_));
    callback_(ProgressUpdate{name_, start_ + (end_ - start_) * t, pass_});
  }
  void done() const {
    if (callback_) callback_(ProgressUpdate{"done", 1.0, pass_});
  }

 private:
  const ProgressCallback& callback_;
  std::string_view name_;
  int pass_ = 0;
  double start_ = 0.0;
  double end_ = 0.0;
  std::int64_t total_ = 1;
};

Status check_paths(const MasterJob& job) {
  std::error_code ec;
  if (!std::filesystem::exists(job.input, ec)) {
    return make_error(ErrorCode::kNotFound, "input file not found: " + job.input.filename().string());
  }
  const bool same = std::filesystem::exists(job.output, ec) ? std::filesystem::equivalent(job.input, job.output, ec)
                                                            : std::filesystem::weakly_canonical(job.input, ec) ==
                                                                  std::filesystem::weakly_canonical(job.output, ec);
  if (same)
    return make_error(ErrorCode::kInvalidArgument, "the output path is the input file; choose another output name");
  if (job.output.filename().empty()) return make_error(ErrorCode::kInvalidArgument, "the output path names no file");
  return {};
}

Expected<audio::Format> format_for(const MasterJob& job, const audio::StreamInfo& info) {
  const std::string ext = job.output.extension().string();
  const auto from_extension = ext.empty() ? std::nullopt : audio::format_from_name(ext);
  if (job.settings.output_format) {
    if (from_extension && *from_extension != *job.settings.output_format) {
      return make_error(ErrorCode::kInvalidArgument, "output format " +
                                                         std::string(audio::traits(*job.settings.output_format).name) +
                                                         " conflicts with the output extension " + ext);
    }
    return *job.settings.output_format;
  }
  if (from_extension) return *from_extension;
  if (info.format) return *info.format;
  return make_error(ErrorCode::kInvalidArgument,
                    "cannot tell the output format from '" + job.output.filename().string() +
                        "'; use an extension such as .wav, .flac or .mp3, or set the format");
}

// WAV/AIFF/FLAC keep the input's depth; float stays float where the container allows; lossy or unknown
// sources become 24-bit (mastering adds gain, so 16 bits would waste the decoded resolution).
audio::EncoderOptions encoder_options(audio::Format format, const audio::StreamInfo& info, const Settings& settings) {
  audio::EncoderOptions o;
  o.format = format;
  o.sample_rate_hz = info.sample_rate_hz;
  o.channels = info.channels;
  o.bitrate_kbps = settings.bitrate_kbps;
  o.tags = info.tags;
  const bool float_container = format == audio::Format::kWav || format == audio::Format::kAiff;
  if (info.is_float && float_container) {
    o.bits_per_sample = 32;
    o.is_float = true;
  } else if (info.bits_per_sample > 0 && info.bits_per_sample <= 16) {
    o.bits_per_sample = 16;
  } else {
    o.bits_per_sample = 24;
  }
  return o;
}

// Everything the passes share.
struct Track {
  std::unique_ptr<audio::Decoder> decoder;
  std::unique_ptr<DecoderSource> decoded;
  std::unique_ptr<MemoryTrack> memory;  // set when the decoded track fits the cache budget
  int channels = 0;
  double sample_rate_hz = 0.0;
  double expected_duration_s = 0.0;
  std::size_t block_frames = kDefaultBlockFrames;
};

// Meters every block it reads, on the reading thread of a pass.
class MeteredSource final : public FrameSource {
 public:
  MeteredSource(FrameSource& inner, TrackAnalyzer& analyzer) : inner_(inner), analyzer_(analyzer) {}
  Expected<std::size_t> read(AudioBuffer& buffer) override {
    auto frames = inner_.read(buffer);
    if (frames && *frames > 0) analyzer_.process(buffer.block());
    return frames;
  }
  Status rewind() override { return inner_.rewind(); }

 private:
  FrameSource& inner_;
  TrackAnalyzer& analyzer_;
};

// Reads `source` from the start to the end, handing each block to `sink(block) -> Status` on a second thread.
template <class Sink>
Status for_each_block(FrameSource& source, const Track& track, const Progress* progress, Sink&& sink) {
  return pipelined_pass(source, track.channels, track.block_frames, std::forward<Sink>(sink),
                        [progress](std::int64_t done) {
                          if (progress != nullptr) progress->report(done);
                        });
}

Expected<Track> open_track(const std::filesystem::path& path, const MasterJob* job, const Limits& limits) {
  auto decoder = audio::Decoder::open(path);
  if (!decoder) return std::move(decoder).error();
  Track t;
  t.decoder = std::move(*decoder);
  const auto& info = t.decoder->info();
  t.channels = info.channels;
  t.sample_rate_hz = info.sample_rate_hz;
  t.expected_duration_s = info.duration_frames_estimate > 0
                              ? static_cast<double>(info.duration_frames_estimate) / info.sample_rate_hz
                              : 0.0;
  std::int64_t max_frames = 0;
  if (limits.max_duration_s > 0.0) {
    max_frames = static_cast<std::int64_t>(limits.max_duration_s * info.sample_rate_hz);
    if (t.expected_duration_s > limits.max_duration_s * 1.01) {
      return make_error(ErrorCode::kTooLarge,
                        "input lasts " + std::to_string(static_cast<long long>(t.expected_duration_s)) +
                            " s, over the " + std::to_string(static_cast<long long>(limits.max_duration_s)) +
                            " s duration limit");
    }
  }
  if (job != nullptr) t.block_frames = std::max<std::size_t>(1, job->block_frames);
  t.decoded = std::make_unique<DecoderSource>(*t.decoder, max_frames, job != nullptr ? job->cancel : nullptr);
  return t;
}

double amplitude_db(float amplitude) {
  return dsp::amplitude_to_db(static_cast<double>(amplitude));
}

// Measures whatever `source` yields; `before_metering(block) -> Status` may store each block first, or
// change it when options.true_peak is off (the first channel's true peak is metered as the block is read,
// before the hook: the detector's work is split between the pass's two threads by channel).
template <class Hook>
Expected<TrackAnalysis> measure(FrameSource& source, const Track& track, TrackAnalyzer::Options options,
                                const Progress* progress, Hook&& before_metering) {
  const ProcessSpec spec{track.sample_rate_hz, track.block_frames, track.channels};
  TruePeakTap first_channel;
  first_channel.prepare(spec, 0, 1);
  TruePeakTap other_channels;
  other_channels.prepare(spec, 1, track.channels - 1);
  ProcessedSource tapped(source, first_channel);
  TrackAnalyzer analyzer;
  analyzer.prepare(track.sample_rate_hz, track.channels, track.expected_duration_s,
                   {.true_peak = false, .spectrum = options.spectrum});
  auto status =
      for_each_block(options.true_peak ? tapped : source, track, progress, [&](const AudioBlock& block) -> Status {
        SPECTRUM_TRY(before_metering(block));
        if (options.true_peak) other_channels.process(block);
        analyzer.process(block);
        return {};
      });
  if (!status) return std::move(status).error();
  TrackAnalysis analysis = analyzer.finish("");
  if (options.true_peak) {  // as LoudnessMeter reads it: never under the sample peak
    const float peak = std::max(first_channel.peak(), other_channels.peak());
    analysis.measurement.true_peak_dbtp = std::max(amplitude_db(peak), analysis.measurement.sample_peak_dbfs);
  }
  return analysis;
}

Expected<TrackAnalysis> measure(FrameSource& source, const Track& track, TrackAnalyzer::Options options,
                                const Progress* progress) {
  return measure(source, track, options, progress, [](const AudioBlock&) { return Status{}; });
}

// Decodes and measures a file the engine has just encoded (the delivered file, a codec trial).
Expected<TrackAnalysis> measure_encoded(const std::filesystem::path& path, const MasterJob& job,
                                        TrackAnalyzer::Options options, const Progress* progress) {
  auto decoded = open_track(path, &job, {});
  if (!decoded) return Error{ErrorCode::kInternal, "cannot decode the encoded output: " + decoded.error().message};
  return measure(*decoded->decoded, *decoded, options, progress);
}

std::string fixed(double value, int decimals) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
  return text.data();
}

// A file shorter than its container says lost audio (a truncated upload, a damaged page that the demuxer
// skipped): more than this much, or this share, is worth a warning.
constexpr double kShortInputToleranceS = 0.25;
constexpr double kShortInputToleranceShare = 0.01;

// What the decode of the input lost or repaired, for the report.
std::vector<std::string> input_warnings(const Track& track, const TrackAnalysis& analysis) {
  std::vector<std::string> warnings;
  const audio::Decoder& decoder = *track.decoder;
  const audio::StreamInfo& info = decoder.info();
  if (decoder.nonfinite_samples_replaced() > 0) {
    warnings.push_back(std::to_string(decoder.nonfinite_samples_replaced()) +
                       " NaN or infinite samples in the input were replaced with silence");
  }
  if (decoder.damaged_packets_skipped() > 0) {
    warnings.push_back(std::to_string(decoder.damaged_packets_skipped()) +
                       " damaged packets of the input could not be decoded and were skipped");
  }
  if (info.stated_frames > 0) {
    const double stated_s = static_cast<double>(info.stated_frames) / info.sample_rate_hz;
    const double decoded_s = static_cast<double>(analysis.frames) / info.sample_rate_hz;
    if (stated_s - decoded_s > std::max(kShortInputToleranceS, kShortInputToleranceShare * stated_s)) {
      warnings.push_back("the input is shorter than its header says: " + fixed(decoded_s, 1) + " s decoded of " +
                         fixed(stated_s, 1) + " s stated (" + fixed(stated_s - decoded_s, 1) +
                         " s lost: a truncated or damaged file)");
    }
  }
  return warnings;
}

// Pass 1: measure the input; keep it in memory while it fits the budget.
Expected<TrackAnalysis> analyse_input(Track& track, std::size_t cache_budget_bytes, Progress* progress) {
  // Decide up front from the container's duration, so a long track never fills the cache only to drop it
  // (that would put the whole budget on the peak memory of exactly the tracks that stream).
  const double expected_bytes = track.expected_duration_s * track.sample_rate_hz * track.channels * sizeof(float);
  if (cache_budget_bytes > 0 && expected_bytes <= static_cast<double>(cache_budget_bytes)) {
    track.memory = std::make_unique<MemoryTrack>(track.channels);
  }
  CachingSource caching(*track.decoded, track.memory, track.channels, cache_budget_bytes);
  auto analysis = measure(caching, track, {}, progress);
  if (!analysis) return analysis;
  analysis->measurement.format = format_label(track.decoder->info());
  if (analysis->frames == 0) return make_error(ErrorCode::kCorruptInput, "the input contains no audio samples");
  return analysis;
}

// The limiter's side chain over the pre-limiter signal, recorded block by block wherever the caller keeps it
// (the whole track's buffer, for replay, or one block's scratch when streaming), and taken as it comes into the
// limiting model and its maximum: the signal's true peak (the detector is the meter's).
class SideChainRecording {
 public:
  explicit SideChainRecording(const ProcessSpec& spec) : spec_(spec) { recorder_.prepare(spec); }

  // `out` receives block.num_frames() values.
  void record(const AudioBlock& block, float* out) noexcept {
    recorder_.process(block, out);
    take(std::span(out, block.num_frames()));
  }
  // After the track: silence through the detector fills `rest` (its latency frames).
  void finish(std::span<float> rest) {
    AudioBuffer silence(spec_.num_channels, std::max<std::size_t>(rest.size(), 1));
    silence.set_num_frames(rest.size());
    silence.block().clear();
    recorder_.process(silence.block(), rest.data());
    take(rest);
  }
  [[nodiscard]] float true_peak() const noexcept { return peak_; }
  [[nodiscard]] LimitingModel model() && { return std::move(model_).finish(); }

 private:
  void take(std::span<const float> values) noexcept {
    model_.add(values);
    peak_ = std::max(peak_, dsp::max_abs(values.data(), values.size()));
  }

  ProcessSpec spec_;
  dsp::LimiterSideChain recorder_;
  LimitingModel::Builder model_;
  float peak_ = 0.0F;
};

Measurement measurement_with_format(Measurement m, audio::Format format, int bits, bool is_float) {
  m.format = std::string(audio::traits(format).name);
  if (!audio::is_lossy(format)) m.format += is_float ? " (32-bit float)" : " (" + std::to_string(bits) + "-bit)";
  return m;
}

Status check_cancel(const MasterJob& job) {
  if (job.cancel != nullptr && job.cancel->load()) return make_error(ErrorCode::kCancelled, "the job was cancelled");
  return {};
}

// Passes of gain and limiter over the pre-limiter signal: the loudness loop's probe, and the delivery's writes.
// A loudness pass meters loudness only. A write pass encodes the output into the temporary file and meters
// what it encodes: a lossless file in full (RoundingStage hands on the samples as the file stores them), so it
// needs no decode; a lossy one by its loudness only, the file itself being measured after decoding. A loop
// pass that will probably meet the target writes: if it does, it is the output and no separate pass is needed.
class OutputPasses final : public LoudnessProbe {
 public:
  struct Io {
    const Track& track;
    Progress& progress;
    OutputStage& stage;
    FrameSource& limited;  // gain and limiter
    FrameSource& rounded;  // and the rounding of lossless output
    const std::filesystem::path& temp_path;
    const audio::EncoderOptions& enc_options;
    bool lossy = false;
    std::int64_t frames = 0;
  };

  OutputPasses(Io io, MasterReport& report) : io_(io), report_(report) {}

  Expected<double> loudness_at(double gain_db, const PassOutlook& outlook) override {
    // A PCM write costs little more than a loudness pass, so any pass likely to land writes. A lossy write is a
    // full encode: it waits for a pass whose predecessor came close, since a model-aimed jump may still miss.
    const bool write_now = io_.lossy ? outlook.previous_miss_lu < kLikelyFinalLu : outlook.likely_final();
    if (!write_now) return loudness_pass(gain_db);
    SPECTRUM_TRY(write(gain_db));
    return written_lufs_;
  }

  // Encodes the output at `gain_db`; counts the pass and takes the limiter's figures into the report.
  Status write(double gain_db) {
    start_pass("encode", gain_db, true);
    written_gain_db_.reset();
    written_file_.reset();
    auto encoder = audio::Encoder::create(io_.temp_path, io_.enc_options);
    if (!encoder) return std::move(encoder).error();
    const auto encode = [&](const AudioBlock& block) { return (*encoder)->write(block); };
    if (io_.lossy) {
      // The encoder is the slow half of the pass: the loudness is metered on the reading thread instead.
      TrackAnalyzer analyzer;
      analyzer.prepare(io_.track.sample_rate_hz, io_.track.channels, io_.track.expected_duration_s,
                       {.true_peak = false, .spectrum = false});
      MeteredSource metered(io_.limited, analyzer);
      SPECTRUM_TRY(for_each_block(metered, io_.track, &io_.progress, encode));
      written_lufs_ = analyzer.finish("").normalisable_lufs();
    } else {
      auto measured = measure(io_.rounded, io_.track, {}, &io_.progress, encode);
      if (!measured) return std::move(measured).error();
      written_lufs_ = measured->normalisable_lufs();
      written_file_ = std::move(*measured);
    }
    SPECTRUM_TRY((*encoder)->commit());
    ++report_.encode_passes;
    report_.limiter = io_.stage.limiter_gain_reduction();
    written_gain_db_ = gain_db;
    return {};
  }

  // The gain of the file now in the temporary file, if it is still the one to deliver (the limiter's
  // settings have not changed since): forget() says they have.
  [[nodiscard]] const std::optional<double>& written_gain_db() const { return written_gain_db_; }
  void forget() { written_gain_db_.reset(); }
  // Its measurement, when lossless.
  [[nodiscard]] const std::optional<TrackAnalysis>& written_file() const { return written_file_; }

 private:
  void start_pass(std::string_view name, double gain_db, bool writes) {
    ++output_passes_;
    io_.progress.stage(name, 0.4 + 0.05 * std::min(output_passes_, 8), 0.45 + 0.05 * std::min(output_passes_, 8),
                       io_.frames, output_passes_);
    io_.stage.set_gain_db(gain_db);
    io_.stage.set_statistics_enabled(writes);  // the report's limiter figures come from the written pass
  }

  Expected<double> loudness_pass(double gain_db) {
    start_pass("master", gain_db, false);
    auto measured = measure(io_.limited, io_.track, {.true_peak = false, .spectrum = false}, &io_.progress);
    if (!measured) return std::move(measured).error();
    return measured->normalisable_lufs();
  }

  Io io_;
  MasterReport& report_;
  std::optional<double> written_gain_db_;
  std::optional<TrackAnalysis> written_file_;
  double written_lufs_ = 0.0;  // what the encoder was given
  int output_passes_ = 0;
};

}  // namespace

Expected<AnalysisReport> analyze_file(const std::filesystem::path& path, const Limits& limits) {
  auto track = open_track(path, nullptr, limits);
  if (!track) return std::move(track).error();
  auto analysis = analyse_input(*track, 0, nullptr);
  if (!analysis) return std::move(analysis).error();
  return AnalysisReport{analysis->measurement, analysis->plot(), input_warnings(*track, *analysis)};
}

Expected<MasterReport> master_file(const MasterJob& job) {
  SPECTRUM_TRY(check_paths(job));
  Progress progress(job.on_progress);
  auto opened = open_track(job.input, &job, job.limits);
  if (!opened) return std::move(opened).error();
  Track& track = *opened;
  const audio::StreamInfo& info = track.decoder->info();
  auto format = format_for(job, info);
  if (!format) return std::move(format).error();

  MasterReport report;
  report.settings = job.settings;

  std::optional<TrackAnalysis> reference;
  if (job.reference) {
    auto ref_track = open_track(*job.reference, &job, job.limits);
    if (!ref_track) return Error{ref_track.error().code, "reference track: " + ref_track.error().message};
    auto ref = analyse_input(*ref_track, 0, nullptr);
    if (!ref) return Error{ref.error().code, "reference track: " + ref.error().message};
    reference = std::move(*ref);
    report.reference = reference->measurement;
  }

  // Pass 1: analyse.
  progress.stage("analyse", 0.0, 0.25, info.duration_frames_estimate);
  auto input = analyse_input(track, job.limits.cache_budget_bytes, &progress);
  if (!input) return std::move(input).error();
  report.input = input->measurement;
  report.input_plot = input->plot();
  for (std::string& warning : input_warnings(track, *input)) report.warnings.push_back(std::move(warning));

  // The target: explicit, else the reference's loudness (within the allowed range), else the default.
  double target = job.settings.target_loudness_lufs.value_or(kDefaultTargetLoudnessLufs);
  if (!job.settings.target_loudness_lufs && reference && std::isfinite(reference->measurement.integrated_lufs)) {
    target = std::clamp(reference->measurement.integrated_lufs, kTargetLoudnessRange.min, kTargetLoudnessRange.max);
    if (target != reference->measurement.integrated_lufs) {
      report.warnings.push_back("the reference's loudness is outside the allowed target range; using " +
                                std::to_string(target) + " LUFS");
    }
  }
  if (job.target_override_lufs) target = *job.target_override_lufs;
  report.target_loudness_lufs = target;

  // Pass 2: the pre-limiter chain, in place in memory or on the fly.
  SPECTRUM_TRY(check_cancel(job));
  const bool lossy = audio::is_lossy(*format);
  const ChainDesign design = design_chain(job.settings, *input, reference ? &*reference : nullptr, lossy,
                                          job.matched_band_levels_db ? &*job.matched_band_levels_db : nullptr);
  report.compressor_threshold_dbfs = design.compressor_threshold_db;
  for (std::size_t b = 0; b < design.band_centres_hz.size(); ++b) {
    report.eq_profile_curve.push_back({design.band_centres_hz[b], design.profile_db[b]});
    report.eq_correction.push_back({design.band_centres_hz[b], design.correction_db[b]});
    report.target_curve.push_back({design.band_centres_hz[b], design.target_db[b]});
  }
  const ProcessSpec spec{track.sample_rate_hz, track.block_frames, track.channels};
  PreLimiterChain chain;
  chain.prepare(spec, design);
  ProcessedSource streamed_pre(*track.decoded, chain);
  progress.stage("master", 0.25, 0.45, input->frames);
  Expected<TrackAnalysis> pre_analysis = make_error(ErrorCode::kInternal, "not measured");
  double ceiling = job.settings.true_peak_ceiling_dbtp - kPcmCeilingMarginDb;  // the limiter's; lossy: see the trial
  OutputStage stage;
  stage.prepare(spec, ceiling);
  // The limiter's side chain over the pre-limiter signal, kept whole when in memory (for replay); every value
  // is written, so the 4 bytes per frame are not zeroed first.
  std::unique_ptr<float[]> side_chain_values;
  std::span<float> side_chain;
  SideChainRecording recording(spec);
  std::optional<LimitingModel> limiting_model;  // built from it
  TrialSections trial_sections;                 // lossy output: the sections its trial encode will use
  if (lossy) trial_sections.prepare(spec);
  if (track.memory) {
    MemoryTrack& memory = *track.memory;
    // The chain on this core; metering and the limiter's side chain on the pipeline's other one. The side
    // chain's maximum is the true peak, so the meter skips its own.
    ProcessedSource in_place(memory, chain);
    memory.rewind_writer();
    const auto side_chain_frames = static_cast<std::size_t>(memory.frames() + stage.latency_frames());
    side_chain_values = std::make_unique_for_overwrite<float[]>(side_chain_frames);
    side_chain = std::span(side_chain_values.get(), side_chain_frames);
    std::size_t recorded = 0;
    pre_analysis = measure(in_place, track, {.true_peak = false, .spectrum = false}, &progress,
                           [&](const AudioBlock& block) -> Status {
                             memory.overwrite(block);  // the writer trails the reader by the chain's latency
                             recording.record(block, side_chain.data() + recorded);
                             if (lossy) trial_sections.process(block);
                             recorded += block.num_frames();
                             return {};
                           });
    if (pre_analysis) {
      recording.finish(side_chain.subspan(recorded));
      stage.replay_side_chain(side_chain);
    }
  } else {
    // Streamed: each block's side chain is only taken into the model (whose histogram is all it keeps).
    std::vector<float> held(std::max(track.block_frames, static_cast<std::size_t>(stage.latency_frames())));
    pre_analysis = measure(streamed_pre, track, {.true_peak = false, .spectrum = false}, &progress,
                           [&](const AudioBlock& block) -> Status {
                             recording.record(block, held.data());
                             if (lossy) trial_sections.process(block);
                             return {};
                           });
    if (pre_analysis) recording.finish(std::span(held.data(), static_cast<std::size_t>(stage.latency_frames())));
  }
  if (pre_analysis) {
    pre_analysis->measurement.true_peak_dbtp = amplitude_db(recording.true_peak());
    limiting_model.emplace(std::move(recording).model());
  }
  trial_sections.finish();
  if (!pre_analysis) return std::move(pre_analysis).error();
  report.compressor = chain.compressor_gain_reduction();
  FrameSource& pre = track.memory ? static_cast<FrameSource&>(*track.memory) : streamed_pre;

  // Silence is left as it is: no gain would make the noise floor "music".
  const bool silent = !std::isfinite(pre_analysis->normalisable_lufs());
  if (silent) report.warnings.emplace_back("the input is silent (below the -70 LUFS gate): level left unchanged");
  if (!std::isfinite(input->measurement.integrated_lufs) && !silent) {
    report.warnings.emplace_back(
        "the input is shorter than the 400 ms loudness gate: normalised by its ungated loudness");
  }

  // Passes 3 and 4: closed loop, then write and verify the delivered file.
  audio::EncoderOptions enc_options = encoder_options(*format, info, job.settings);
  enc_options.input_rounded = !lossy;  // RoundingStage rounds lossless output
  ProcessedSource limited(pre, stage);
  RoundingStage rounding;  // lossless output: rounded beside the limiter, so its measurement is the file's
  rounding.prepare(audio::stored_bits(enc_options), enc_options.dither_seed);
  ProcessedSource rounded(limited, rounding);

  auto destination = AtomicFile::create(job.output);
  if (!destination) return std::move(destination).error();

  OutputPasses passes({.track = track,
                       .progress = progress,
                       .stage = stage,
                       .limited = limited,
                       .rounded = rounded,
                       .temp_path = destination->temp_path(),
                       .enc_options = enc_options,
                       .lossy = lossy,
                       .frames = input->frames},
                      report);

  // Lossy output: estimate the gain for the PCM ceiling (one pass and the limiting model), encode the most
  // demanding sections of that master once, and aim the real passes by what the codec did to them: the
  // limiter under the ceiling by the codec's overshoot, the loop at the target minus the codec's loudness
  // shift. The pass already measured carries over to the new ceiling (at_ceiling). One full encode in the
  // usual case.
  double aim = target;
  std::vector<MeasuredPass> loop_passes;  // measured so far, mapped to the limiter's current ceiling
  if (lossy && !silent) {
    SPECTRUM_TRY(check_cancel(job));
    const double trial_ceiling = ceiling;
    auto first = solve_gain({.pre_limiter_lufs = pre_analysis->normalisable_lufs(),
                             .pre_limiter_tp_dbtp = pre_analysis->measurement.true_peak_dbtp,
                             .target_lufs = target,
                             .ceiling_dbtp = trial_ceiling,
                             .measured = {},
                             .model = limiting_model ? &*limiting_model : nullptr,
                             .max_passes = 1},
                            passes);
    if (!first) return std::move(first).error();
    report.loudness_passes += first->passes;
    progress.stage("master", 0.5, 0.55, input->frames, 1);  // the trial encode belongs to the loop's first pass
    auto scratch = AtomicFile::create(job.output);          // removed when it goes out of scope
    if (!scratch) return std::move(scratch).error();
    auto encoded = encode_trial({.sections = &trial_sections,
                                 .sample_rate_hz = track.sample_rate_hz,
                                 .gain_db = first->next_gain_db,
                                 .limiter_ceiling_dbtp = trial_ceiling,
                                 .encoder = enc_options,
                                 .scratch = scratch->temp_path()});
    if (!encoded) return std::move(encoded).error();
    auto decoded = measure_encoded(scratch->temp_path(), job, {.true_peak = true, .spectrum = false}, nullptr);
    if (!decoded) return std::move(decoded).error();
    const CodecTrial trial = codec_effect(*encoded, *decoded);
    report.codec_trial = CodecTrialReport{trial.peak_overshoot_db, trial.loudness_shift_db, trial.seconds};
    ceiling = job.settings.true_peak_ceiling_dbtp - std::max(trial.peak_overshoot_db, -kMaxCodecUndershootDb) -
              audio::traits(*format).trial_safety_db;
    aim = target - trial.loudness_shift_db;
    for (const MeasuredPass& pass : first->history) loop_passes.push_back(at_ceiling(pass, trial_ceiling, ceiling));
  }

  double loop_gain_db = 0.0;
  double gain_adjust_db = 0.0;
  double trim_db = 0.0;  // static trim for the true peak: the last resort
  bool solve = !silent;
  LoopOutcome loop_outcome = LoopOutcome::kReached;
  const double tolerance_lu = lossy ? kLossyToleranceLu : kPcmToleranceLu;
  TrackAnalysis delivered;
  for (int attempt = 0; attempt < kMaxDeliveryAttempts; ++attempt) {
    SPECTRUM_TRY(check_cancel(job));
    if (solve) {
      stage.set_ceiling_dbtp(ceiling);
      passes.forget();
      auto loop = solve_gain({.pre_limiter_lufs = pre_analysis->normalisable_lufs(),
                              .pre_limiter_tp_dbtp = pre_analysis->measurement.true_peak_dbtp,
                              .target_lufs = aim,
                              .ceiling_dbtp = ceiling,
                              .measured = loop_passes,
                              .model = limiting_model ? &*limiting_model : nullptr},
                             passes);
      if (!loop) return std::move(loop).error();
      loop_gain_db = loop->gain_db;
      loop_passes.insert(loop_passes.end(), loop->history.begin(), loop->history.end());
      loop_outcome = loop->outcome;
      report.loudness_passes += loop->passes;
      solve = false;
    }
    report.gain_applied_db = loop_gain_db + gain_adjust_db;
    if (passes.written_gain_db() != report.gain_applied_db) SPECTRUM_TRY(passes.write(report.gain_applied_db));

    // Measure what the listener will decode, not what we fed the encoder.
    if (passes.written_file()) {
      delivered = *passes.written_file();
    } else {
      progress.stage("verify", 0.9, 1.0, input->frames);
      auto measured = measure_encoded(destination->temp_path(), job, {}, &progress);
      if (!measured) return std::move(measured).error();
      delivered = std::move(*measured);
    }
    if (silent) break;
    const double tp_excess = delivered.measurement.true_peak_dbtp - job.settings.true_peak_ceiling_dbtp;
    const double loudness_error = target - delivered.normalisable_lufs();
    const bool last = attempt + 1 == kMaxDeliveryAttempts;
    if (tp_excess > 0.0) {
      if (attempt + 2 < kMaxDeliveryAttempts) {
        // Tighten the limiter and solve the loudness again, from the passes measured so far.
        const double tighter = ceiling - (tp_excess + kTruePeakRetryMarginDb);
        for (MeasuredPass& pass : loop_passes) pass = at_ceiling(pass, ceiling, tighter);
        ceiling = tighter;
        gain_adjust_db = 0.0;
        solve = true;
      } else {
        // Last resort: a static trim keeps the ceiling, at some loudness.
        gain_adjust_db -= tp_excess + kTruePeakRetryMarginDb;
        trim_db += tp_excess + kTruePeakRetryMarginDb;
      }
      if (!last) continue;
      return make_error(ErrorCode::kInternal, "the encoded output stays over the true-peak ceiling");
    }
    if (loop_outcome == LoopOutcome::kReached && std::abs(loudness_error) > tolerance_lu && !last) {
      gain_adjust_db += loudness_error;  // the encoder shifted the level a little: correct for it
      continue;
    }
    break;
  }
  if (!silent && std::abs(target - delivered.normalisable_lufs()) > kReachedToleranceLu) {
    const std::string file_ceiling = fixed(job.settings.true_peak_ceiling_dbtp, 1) + " dBTP ceiling";
    std::string cause;
    if (loop_outcome == LoopOutcome::kLimitingCap) {
      cause = "more would take over " + fixed(kMaxLimitingDb, 0) + " dB of limiting under the " + file_ceiling;
      if (trim_db > 0.0 || ceiling < job.settings.true_peak_ceiling_dbtp - kPcmCeilingMarginDb) {
        cause += " (the limiter aimed at " + fixed(ceiling, 1) + " dBTP to keep the encoded file under it)";
      }
    } else if (loop_outcome == LoopOutcome::kPassBudget) {
      cause = "the loudness loop ran out of passes (" + std::to_string(kMaxLoopPasses) + ") at " +
              fixed(loop_gain_db, 2) + " dB of gain under the " + file_ceiling;
    } else if (trim_db > 0.0) {
      cause = "the encoded file overshot the " + file_ceiling +
              " after every limiter setting tried; a static trim of " + fixed(trim_db, 2) + " dB keeps it under";
    } else {
      cause = "the encoder shifted the level, and the " + std::to_string(kMaxDeliveryAttempts) +
              " delivery attempts ran out";
    }
    report.warnings.push_back("the output reaches " + fixed(delivered.normalisable_lufs(), 2) +
                              " LUFS, not the target: " + cause);
  }
  SPECTRUM_TRY(destination->commit());

  const int fixed_rate_hz = audio::traits(*format).fixed_rate_hz;
  const int out_rate = fixed_rate_hz > 0 ? fixed_rate_hz : static_cast<int>(track.sample_rate_hz);
  report.output =
      measurement_with_format(delivered.measurement, *format, enc_options.bits_per_sample, enc_options.is_float);
  report.output.sample_rate_hz = out_rate;
  report.output.channels = track.channels;
  report.output_plot = delivered.plot();
  progress.done();
  return report;
}

}  // namespace spectrum::mastering
