#include "mastering/album.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

namespace spectrum::mastering {
namespace {

// Runs work(i) for every track on up to `parallel` threads. After the first failure (or a cancel, external or
// ours) no further track starts, and the engine stops the running ones at its next check.
template <class Work>
std::vector<Status> for_each_track(std::size_t count, int parallel, const std::atomic<bool>* external,
                                   std::atomic<bool>& stop, Work&& work) {
  // A track that never started (the album stopped first) counts as cancelled, never as done.
  std::vector<Status> results(count, Status(make_error(ErrorCode::kCancelled, "the album stopped before this track")));
  std::atomic<std::size_t> next{0};
  std::atomic<int> running{0};
  const auto worker = [&] {
    for (std::size_t i = next++; i < count && !stop; i = next++) {
      results[i] = work(i);
      if (!results[i]) stop = true;
    }
    --running;
  };
  const int threads = std::clamp(parallel, 1, static_cast<int>(count));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  running = threads;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  // The engine watches `stop` only; relay a cancel from outside to it.
  while (running > 0) {
    if (external != nullptr && *external) stop = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& thread : pool) thread.join();
  return results;
}

// The track to blame: the first that failed on its own rather than being stopped because another failed (or
// the first cancelled one, when the album as a whole was cancelled). nullopt when every track succeeded.
std::optional<std::size_t> first_failure(const std::vector<Status>& results) {
  std::optional<std::size_t> cancelled;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i]) continue;
    if (results[i].error().code != ErrorCode::kCancelled) return i;
    if (!cancelled) cancelled = i;
  }
  return cancelled;
}

Error track_error(const AlbumJob& job, std::size_t index, const Error& error) {
  return Error{error.code, "track " + std::to_string(index + 1) + " (" + job.tracks[index].input.filename().string() +
                               "): " + error.message};
}

// The album's long-term spectrum: each band's energy averaged over the tracks, weighted by their length. A
// track with fewer bands (a lower rate) lends its top band to the bands above it.
std::vector<double> album_band_levels_db(const std::vector<AnalysisReport>& analyses) {
  std::size_t bands = 0;
  for (const auto& a : analyses) bands = std::max(bands, a.plot.band_levels_db.size());
  std::vector<double> levels(bands, -std::numeric_limits<double>::infinity());
  for (std::size_t b = 0; b < bands; ++b) {
    double energy = 0.0;
    double weight = 0.0;
    for (const auto& a : analyses) {
      const auto& own = a.plot.band_levels_db;
      if (own.empty() || !std::isfinite(own[std::min(b, own.size() - 1)])) continue;
      const double seconds = std::max(a.measurement.duration_s, 1e-3);
      energy += seconds * std::pow(10.0, own[std::min(b, own.size() - 1)] / 10.0);
      weight += seconds;
    }
    if (weight > 0.0 && energy > 0.0) levels[b] = 10.0 * std::log10(energy / weight);
  }
  return levels;
}

Status check_tracks(const AlbumJob& job) {
  if (job.tracks.size() < kMinAlbumTracks || job.tracks.size() > kMaxAlbumTracks) {
    return make_error(ErrorCode::kInvalidArgument, "an album has " + std::to_string(kMinAlbumTracks) + " to " +
                                                       std::to_string(kMaxAlbumTracks) + " tracks (got " +
                                                       std::to_string(job.tracks.size()) + ")");
  }
  for (std::size_t i = 0; i < job.tracks.size(); ++i) {
    for (std::size_t j = 0; j < job.tracks.size(); ++j) {
      if (job.tracks[i].output == job.tracks[j].input || (i != j && job.tracks[i].output == job.tracks[j].output)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "track " + std::to_string(i + 1) + "'s output would overwrite another track's file");
      }
    }
  }
  return {};
}

}  // namespace

Expected<AlbumReport> master_album(const AlbumJob& job) {
  SPECTRUM_TRY(check_tracks(job));
  const std::size_t count = job.tracks.size();
  std::atomic<bool> stop{false};

  // 1. Measure every track.
  std::vector<AnalysisReport> analyses(count);
  auto measured = for_each_track(count, job.parallel, job.cancel, stop, [&](std::size_t i) -> Status {
    auto analysis = analyze_file(job.tracks[i].input, job.limits);
    if (!analysis) return std::move(analysis).error();
    analyses[i] = std::move(*analysis);
    return {};
  });
  if (const auto failed = first_failure(measured)) return track_error(job, *failed, measured[*failed].error());

  // 2. Targets: the loudest track on the target, every other at its distance below it.
  AlbumReport report;
  report.mode = job.mode;
  report.target_loudness_lufs = job.settings.target_loudness_lufs.value_or(kDefaultTargetLoudnessLufs);
  double loudest = -std::numeric_limits<double>::infinity();
  for (const auto& a : analyses) {
    if (std::isfinite(a.measurement.integrated_lufs)) loudest = std::max(loudest, a.measurement.integrated_lufs);
  }
  report.loudest_input_lufs = loudest;
  for (const auto& a : analyses) {
    const double own = a.measurement.integrated_lufs;
    const bool keep_distance = job.mode == AlbumMode::kAlbum && std::isfinite(own) && std::isfinite(loudest);
    report.track_targets_lufs.push_back(keep_distance ? report.target_loudness_lufs + (own - loudest)
                                                      : report.target_loudness_lufs);
  }
  std::optional<std::vector<double>> album_levels;
  if (job.mode == AlbumMode::kAlbum) album_levels = album_band_levels_db(analyses);

  // 3. Master every track; any failure removes every output.
  report.tracks.resize(count);
  auto mastered = for_each_track(count, job.parallel, job.cancel, stop, [&](std::size_t i) -> Status {
    MasterJob track;
    track.input = job.tracks[i].input;
    track.output = job.tracks[i].output;
    track.settings = job.settings;
    track.settings.reference_file_name.reset();
    track.limits = job.limits;
    track.cancel = &stop;
    track.target_override_lufs = report.track_targets_lufs[i];
    track.matched_band_levels_db = album_levels;
    auto result = master_file(track);
    if (!result) return std::move(result).error();
    report.tracks[i] = std::move(*result);
    return {};
  });
  if (const auto failed = first_failure(mastered)) {
    for (const auto& t : job.tracks) {
      std::error_code ec;
      std::filesystem::remove(t.output, ec);
    }
    return track_error(job, *failed, mastered[*failed].error());
  }
  return report;
}

nlohmann::json to_json(const AlbumReport& report) {
  nlohmann::json tracks = nlohmann::json::array();
  for (std::size_t i = 0; i < report.tracks.size(); ++i) {
    nlohmann::json track = to_json(report.tracks[i]);
    track["albumTargetLufs"] = report.track_targets_lufs[i];
    tracks.push_back(std::move(track));
  }
  const auto finite_or_null = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"mode", report.mode == AlbumMode::kAlbum ? "album" : "individual"},
          {"targetLoudnessLufs", report.target_loudness_lufs},
          {"loudestInputLufs", finite_or_null(report.loudest_input_lufs)},
          {"tracks", std::move(tracks)}};
}

}  // namespace spectrum::mastering
