// The mastering engine's public entry points: decode -> analyse -> master -> encode, file to file.
// Knows nothing of HTTP or storage; the CLI and the server both call these.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "mastering/report.h"
#include "mastering/settings.h"

namespace spectrum::mastering {

// Where a job is. Stages in order: "analyse" (measuring the input), "master" (the chain and the loudness loop's
// passes, including a lossy format's trial encode), "encode" (writing the delivered file), "verify" (decoding
// and measuring a lossy file), then "done".
struct ProgressUpdate {
  std::string_view stage;
  double fraction = 0.0;  // of the whole job, in [0, 1]
  int pass = 0;           // "master" and "encode": the loudness loop's pass, from 1; 0 before the loop
};

// Called from the engine's thread as work advances. Must be cheap and must not throw.
using ProgressCallback = std::function<void(const ProgressUpdate& update)>;

struct Limits {
  double max_duration_s = 0.0;  // 0 = unlimited; longer input is kTooLarge
  // Tracks whose decoded samples fit in this many bytes are kept in memory between passes; longer ones are
  // decoded again for each pass, so memory stays bounded whatever the duration. 0 = always stream. The default
  // holds a 9-minute stereo song at 48 kHz (streaming costs a decode and the chain on every pass) and keeps
  // two jobs, with their side chains, well inside Cloud Run's 2 GiB (docs/configuration.md).
  std::size_t cache_budget_bytes = std::size_t{192} << 20;
};

// Frames per processing block and pipeline hand-off: large enough that the hand-offs between the pipeline's
// two threads cost little, small enough to stay in L2 (measured: docs/benchmarks.md, "Design measurements").
inline constexpr std::size_t kDefaultBlockFrames = 16384;

struct MasterJob {
  std::filesystem::path input;
  std::filesystem::path output;  // written atomically (temporary file, then rename); never equal to input
  Settings settings;
  std::optional<std::filesystem::path> reference;  // optional reference track
  Limits limits;
  ProgressCallback on_progress;  // optional
  // Album mastering (mastering/album.h): the loudness target, bypassing the settings' range (a quieter track of
  // an album keeps its distance to the loudest), and the spectrum tonal matching compares instead of the track's.
  std::optional<double> target_override_lufs;
  std::optional<std::vector<double>> matched_band_levels_db;
  const std::atomic<bool>* cancel = nullptr;       // optional; when it becomes true the job stops with kCancelled
  std::size_t block_frames = kDefaultBlockFrames;  // processing block size; the output does not depend on it
};

// Masters job.input into job.output. On any error no output file is left behind.
// Error codes: kInvalidArgument (settings, same path), kNotFound, kCorruptInput (not audio),
// kUnsupported (channels, format), kTooLarge (limits), kIoError, kCancelled, kInternal.
Expected<MasterReport> master_file(const MasterJob& job);

// Measures a file without changing it.
Expected<AnalysisReport> analyze_file(const std::filesystem::path& path, const Limits& limits = {});

}  // namespace spectrum::mastering
