// Album mastering: several tracks mastered as one release. One tonal correction for all (the album's combined
// spectrum against the target), and the tracks' loudness differences kept: the loudest lands on the target and
// every other keeps its distance to it, as streaming services expect when they normalise whole albums (AES
// TD1008: the loudest track of an album at the target). Each track still honours the true-peak ceiling.
#pragma once

#include <atomic>
#include <filesystem>
#include <vector>

#include "common/status.h"
#include "mastering/engine.h"
#include "mastering/report.h"
#include "mastering/settings.h"

namespace spectrum::mastering {

enum class AlbumMode {
  kAlbum,       // relative loudness kept, one tonal correction
  kIndividual,  // every track mastered on its own to the target
};

struct AlbumTrack {
  std::filesystem::path input;
  std::filesystem::path output;  // written atomically; on any failure of the album, none is left behind
};

inline constexpr std::size_t kMinAlbumTracks = 2;
inline constexpr std::size_t kMaxAlbumTracks = 30;

struct AlbumJob {
  std::vector<AlbumTrack> tracks;
  Settings settings;  // shared by every track; targetLoudness is the loudest track's
  AlbumMode mode = AlbumMode::kAlbum;
  Limits limits;
  const std::atomic<bool>* cancel = nullptr;
  int parallel = 2;  // tracks analysed and mastered at once
};

struct AlbumReport {
  AlbumMode mode = AlbumMode::kAlbum;
  double target_loudness_lufs = 0.0;  // where the loudest track lands
  double loudest_input_lufs = 0.0;
  std::vector<double> track_targets_lufs;  // per track, in job order
  std::vector<MasterReport> tracks;        // per track, in job order
};

// kInvalidArgument: fewer than 2 or more than 30 tracks, or an output equal to an input or to another output.
// Any track's error fails the album with that track's file name in the message, and removes every output.
Expected<AlbumReport> master_album(const AlbumJob& job);

nlohmann::json to_json(const AlbumReport& report);

}  // namespace spectrum::mastering
