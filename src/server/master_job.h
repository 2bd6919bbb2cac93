// One mastering job as the API runs it: storage object in, storage object out, the engine in between.
// Works on files in a per-job temporary folder that is removed when the job ends, success or not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "mastering/settings.h"
#include "server/api_error.h"
#include "storage/storage.h"

namespace spectrum::server {

// One step of a job as it happens, for live progress (server-sent events): a stage ("download", "analyse",
// "master", "encode", "verify", "upload"), whether it starts, advances or ends, seconds since the job started,
// the stage's fraction done where known, and the loudness loop's pass for "master" and "encode".
struct JobEvent {
  enum class Kind { kStart, kProgress, kEnd };
  std::string stage;
  Kind kind = Kind::kStart;
  double elapsed_s = 0.0;
  std::optional<double> fraction;
  int pass = 0;
};
using JobEventCallback = std::function<void(const JobEvent& event)>;

struct MasterJobOptions {
  std::filesystem::path temp_dir;
  std::uint64_t max_input_bytes = 0;
  double max_duration_s = 0.0;
  std::chrono::seconds download_url_ttl{24 * 3600};
  const std::atomic<bool>* cancel = nullptr;  // set when the shutdown grace period runs out
  JobEventCallback on_event;                  // optional; called on the job's thread
};

struct MasterJobRequest {
  std::string job_id;
  std::string file_name;
  mastering::Settings settings;
};

// One delivered file of a job: the first is the job's masteredUrl; a bundle (settings.outputFormats) has more.
struct Deliverable {
  std::string name;
  storage::SignedUrl url;        // may be root-relative for the local backend
  std::string format;            // as the engine's report names it
  double integrated_lufs = 0.0;  // measured on the delivered file (decoded, for lossy formats)
  double true_peak_dbtp = 0.0;
};

struct MasterJobResult {
  std::string mastered_name;
  storage::SignedUrl mastered_url;  // may be root-relative for the local backend
  std::vector<Deliverable> deliverables;
  nlohmann::json report;
  struct Timings {
    double download_s = 0.0;
    double master_s = 0.0;
    double upload_s = 0.0;
  } timings;
};

using MasterJobOutcome = std::variant<MasterJobResult, ApiError>;

// An album: every track mastered as one release (mastering/album.h), stored all or nothing.
struct AlbumJobRequest {
  std::string job_id;
  std::vector<std::string> file_names;
  mastering::Settings settings;
  bool individual = false;  // albumMode "individual": each track to the target on its own
};

struct AlbumTrackResult {
  std::string file_name;
  std::string mastered_name;
  storage::SignedUrl mastered_url;
  nlohmann::json report;
};

struct AlbumJobResult {
  std::vector<AlbumTrackResult> tracks;
  nlohmann::json album;  // mode, target, loudest input
};

using AlbumJobOutcome = std::variant<AlbumJobResult, ApiError>;

AlbumJobOutcome run_album_job(storage::Storage& storage, const MasterJobOptions& options,
                              const AlbumJobRequest& request);

// The checks that need no download: names, the mastered name, and that the input (and reference) exist within
// the size limit. run_master_job makes them too; a caller that must answer before the job starts (a stream)
// makes them first.
std::optional<ApiError> check_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                         const MasterJobRequest& request);

MasterJobOutcome run_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                const MasterJobRequest& request);

}  // namespace spectrum::server
