#include "server/master_job.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <system_error>

#include "mastering/album.h"
#include "mastering/engine.h"
#include "mastering/report.h"
#include "server/mastered_name.h"
#include "storage/content_type.h"

namespace spectrum::server {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Removes the job's folder however the job ends.
class JobDir {
 public:
  explicit JobDir(fs::path path) : path_(std::move(path)) {}
  JobDir(const JobDir&) = delete;
  JobDir& operator=(const JobDir&) = delete;
  ~JobDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A local file suffix from an object's extension, kept only when it is short and plain: it helps the
// decoder guess, and must never smuggle odd characters into a path.
std::string safe_suffix(std::string_view object_name) {
  const std::string_view extension = extension_of_name(object_name);
  if (extension.size() < 2 || extension.size() > 6) return "";
  const bool plain = std::all_of(extension.begin() + 1, extension.end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
  return plain ? std::string(extension) : "";
}

// Engine messages name local paths; clients see object names instead.
std::string scrub(std::string message, const fs::path& path, std::string_view replacement) {
  const std::string needle = path.string();
  for (std::size_t at = message.find(needle); at != std::string::npos; at = message.find(needle, at)) {
    message.replace(at, needle.size(), replacement);
    at += replacement.size();
  }
  return message;
}

std::optional<ApiError> check_size(storage::Storage& storage, const std::string& name, const std::string& role,
                                   std::uint64_t max_bytes) {
  auto info = storage.stat(name);
  if (!info) return api_error_from_storage(info.error(), role);
  if (max_bytes > 0 && info->size_bytes > max_bytes) {
    const std::string message = role + " is " + std::to_string(info->size_bytes) + " bytes; the limit is " +
                                std::to_string(max_bytes) + " bytes";
    return ApiError{413, message, message};
  }
  return std::nullopt;
}

// "wav", "mp3", ...: the format a delivered object's extension names (the extension itself if none).
std::string format_name_of(std::string_view object_name) {
  const std::string_view extension = extension_of_name(object_name);
  const auto format = audio::format_from_name(extension);
  return format ? std::string(audio::traits(*format).name) : std::string(extension.substr(extension.empty() ? 0 : 1));
}

Expected<std::string> mastered_name_of(const MasterJobRequest& request) {
  std::optional<std::string_view> output_extension;
  if (request.settings.output_format) output_extension = audio::traits(*request.settings.output_format).extension;
  return mastered_object_name(request.file_name, output_extension);
}

// Turns the engine's frequent progress updates into job events: a start and an end for each stage (and each
// pass of "master"), and progress in between at most every kProgressInterval, so a stream stays small.
class StageTracker {
 public:
  StageTracker(const JobEventCallback& callback, Clock::time_point started) : callback_(callback), started_(started) {}
  ~StageTracker() { end(); }
  StageTracker(const StageTracker&) = delete;
  StageTracker& operator=(const StageTracker&) = delete;

  void enter(std::string_view stage, int pass = 0) {
    if (!callback_ || (stage == stage_ && pass == pass_)) return;
    end();
    stage_ = std::string(stage);
    pass_ = pass;
    last_progress_ = Clock::now();
    emit(JobEvent::Kind::kStart, std::nullopt);
  }

  // An engine update: fractions are of the whole engine run, so each stage's share is its own span.
  void engine(const mastering::ProgressUpdate& update) {
    if (!callback_) return;
    if (update.stage == "done") return end();
    enter(update.stage, update.pass);
    const auto now = Clock::now();
    if (now - last_progress_ < kProgressInterval) return;
    last_progress_ = now;
    emit(JobEvent::Kind::kProgress, update.fraction);
  }

  void end() {
    if (!callback_ || stage_.empty()) return;
    emit(JobEvent::Kind::kEnd, std::nullopt);
    stage_.clear();
  }

 private:
  static constexpr std::chrono::milliseconds kProgressInterval{250};

  void emit(JobEvent::Kind kind, std::optional<double> fraction) {
    callback_(JobEvent{stage_, kind, seconds_since(started_), fraction, pass_});
  }

  const JobEventCallback& callback_;
  Clock::time_point started_;
  std::string stage_;
  int pass_ = 0;
  Clock::time_point last_progress_{};
};

}  // namespace

std::optional<ApiError> check_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                         const MasterJobRequest& request) {
  if (auto valid = storage::validate_object_name(request.file_name); !valid) {
    return ApiError{400, "fileName: " + valid.error().message, valid.error().message};
  }
  auto mastered_name = mastered_name_of(request);
  if (!mastered_name) return ApiError{400, mastered_name.error().message, mastered_name.error().message};
  const auto& reference_name = request.settings.reference_file_name;
  if (reference_name) {
    if (auto valid = storage::validate_object_name(*reference_name); !valid) {
      return ApiError{400, "settings.referenceFileName: " + valid.error().message, valid.error().message};
    }
  }
  if (auto error = check_size(storage, request.file_name, "input object", options.max_input_bytes)) return error;
  if (reference_name) {
    if (auto error = check_size(storage, *reference_name, "reference object", options.max_input_bytes)) return error;
  }
  return std::nullopt;
}

MasterJobOutcome run_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                const MasterJobRequest& request) {
  if (auto error = check_master_job(storage, options, request)) return *error;
  const auto& reference_name = request.settings.reference_file_name;

  const fs::path temp_root = options.temp_dir.empty() ? fs::temp_directory_path() : options.temp_dir;
  std::error_code ec;
  fs::create_directories(temp_root / ("spectrum-job-" + request.job_id), ec);
  if (ec) return ApiError{500, "internal error", "cannot create the job folder: " + ec.message()};
  const JobDir job_dir(temp_root / ("spectrum-job-" + request.job_id));

  MasterJobResult result;
  const auto job_started = Clock::now();
  StageTracker stages(options.on_event, job_started);
  auto started = job_started;
  stages.enter("download");
  mastering::MasterJob job;
  job.input = job_dir.path() / ("input" + safe_suffix(request.file_name));
  job.settings = request.settings;
  job.limits.max_duration_s = options.max_duration_s;
  job.cancel = options.cancel;
  if (options.on_event) job.on_progress = [&stages](const mastering::ProgressUpdate& update) { stages.engine(update); };
  if (auto got = storage.download(request.file_name, job.input); !got) {
    return api_error_from_storage(got.error(), "input object");
  }
  if (reference_name) {
    job.reference = job_dir.path() / ("reference" + safe_suffix(*reference_name));
    if (auto got = storage.download(*reference_name, *job.reference); !got) {
      return api_error_from_storage(got.error(), "reference object");
    }
  }
  result.timings.download_s = seconds_since(started);

  // One engine run per delivered format (the limiter's headroom depends on the codec), from the same input and
  // settings; nothing is stored until every one has succeeded.
  struct Delivery {
    std::string name;
    fs::path file;
    mastering::MasterReport report;
  };
  std::vector<Delivery> deliveries;
  std::vector<std::optional<audio::Format>> formats(request.settings.output_formats.begin(),
                                                    request.settings.output_formats.end());
  if (formats.empty()) formats.push_back(request.settings.output_format);
  started = Clock::now();
  for (std::size_t i = 0; i < formats.size(); ++i) {
    MasterJobRequest one = request;
    one.settings.output_format = formats[i];
    one.settings.output_formats.clear();
    auto name = mastered_name_of(one);
    if (!name) return ApiError{400, name.error().message, name.error().message};
    job.settings = one.settings;
    job.output = job_dir.path() / ("output-" + std::to_string(i) + safe_suffix(*name));
    auto report = mastering::master_file(job);
    if (!report) {
      ApiError error = api_error_from_engine(report.error());
      error.message = scrub(error.message, job.input, request.file_name);
      if (job.reference) error.message = scrub(error.message, *job.reference, *reference_name);
      error.message = scrub(error.message, job.output, *name);
      error.message = scrub(error.message, job_dir.path(), "<job>");
      return error;
    }
    deliveries.push_back({std::move(*name), job.output, std::move(*report)});
  }
  result.timings.master_s = seconds_since(started);

  started = Clock::now();
  stages.enter("upload");
  std::vector<std::string> stored;
  // A bundle is stored whole or not at all: a failure removes what this job already stored.
  const auto unstore = [&storage, &stored] {
    for (const auto& name : stored) (void)storage.remove(name);
  };
  for (const Delivery& delivery : deliveries) {
    if (auto put = storage.upload(delivery.file, delivery.name, storage::content_type_for_name(delivery.name)); !put) {
      unstore();
      return api_error_from_storage(put.error(), "mastered object");
    }
    stored.push_back(delivery.name);
  }
  for (const Delivery& delivery : deliveries) {
    auto url = storage.sign_url(delivery.name, storage::HttpMethod::kGet, options.download_url_ttl, "");
    if (!url) {
      unstore();
      return api_error_from_storage(url.error(), "mastered object");
    }
    result.deliverables.push_back({delivery.name, std::move(*url), format_name_of(delivery.name),
                                   delivery.report.output.integrated_lufs, delivery.report.output.true_peak_dbtp});
  }
  result.timings.upload_s = seconds_since(started);
  result.mastered_name = deliveries.front().name;
  result.mastered_url = result.deliverables.front().url;
  result.report = mastering::to_json(deliveries.front().report);
  stages.end();
  return result;
}

AlbumJobOutcome run_album_job(storage::Storage& storage, const MasterJobOptions& options,
                              const AlbumJobRequest& request) {
  constexpr std::uint64_t kAlbumBytesFactor = 2;
  // Names, mastered names (distinct, none overwriting an input) and sizes, before anything is downloaded. The
  // tracks wait in the job folder together (on Cloud Run, in memory), so their sum is bounded too.
  std::vector<std::string> mastered_names;
  std::uint64_t total_bytes = 0;
  const std::uint64_t max_total_bytes = kAlbumBytesFactor * options.max_input_bytes;
  for (const auto& name : request.file_names) {
    if (auto info = storage.stat(name); info && options.max_input_bytes > 0) {
      total_bytes += info->size_bytes;
      if (total_bytes > max_total_bytes) {
        const std::string message = "the album's tracks are over " + std::to_string(max_total_bytes) +
                                    " bytes together (twice max-input-bytes); send FLAC or MP3, or fewer tracks";
        return ApiError{413, message, message};
      }
    }
    const MasterJobRequest one{request.job_id, name, request.settings};
    if (auto error = check_master_job(storage, options, one)) {
      error->message = name + ": " + error->message;
      return *error;
    }
    auto mastered = mastered_name_of(one);
    for (const auto& other : request.file_names) {
      if (*mastered == other) return ApiError{400, name + ": its mastered name is another track's name", ""};
    }
    if (std::find(mastered_names.begin(), mastered_names.end(), *mastered) != mastered_names.end()) {
      return ApiError{400, name + ": two tracks would have the same mastered name " + *mastered, ""};
    }
    mastered_names.push_back(std::move(*mastered));
  }

  const fs::path temp_root = options.temp_dir.empty() ? fs::temp_directory_path() : options.temp_dir;
  std::error_code ec;
  fs::create_directories(temp_root / ("spectrum-job-" + request.job_id), ec);
  if (ec) return ApiError{500, "internal error", "cannot create the job folder: " + ec.message()};
  const JobDir job_dir(temp_root / ("spectrum-job-" + request.job_id));

  mastering::AlbumJob album;
  album.settings = request.settings;
  album.mode = request.individual ? mastering::AlbumMode::kIndividual : mastering::AlbumMode::kAlbum;
  album.limits.max_duration_s = options.max_duration_s;
  album.cancel = options.cancel;
  for (std::size_t i = 0; i < request.file_names.size(); ++i) {
    const std::string stem = "track-" + std::to_string(i);
    album.tracks.push_back({job_dir.path() / (stem + safe_suffix(request.file_names[i])),
                            job_dir.path() / (stem + "-out" + safe_suffix(mastered_names[i]))});
    if (auto got = storage.download(request.file_names[i], album.tracks.back().input); !got) {
      ApiError error = api_error_from_storage(got.error(), "input object");
      error.message = request.file_names[i] + ": " + error.message;
      return error;
    }
  }
  auto report = mastering::master_album(album);
  if (!report) {
    ApiError error = api_error_from_engine(report.error());
    // The engine names a track by its local file; clients know it by its object name.
    for (std::size_t i = 0; i < album.tracks.size(); ++i) {
      error.message = scrub(error.message, album.tracks[i].input, request.file_names[i]);
      error.message = scrub(error.message, album.tracks[i].output, mastered_names[i]);
      error.message = scrub(error.message, album.tracks[i].input.filename(), request.file_names[i]);
    }
    error.message = scrub(error.message, job_dir.path(), "<job>");
    return error;
  }

  // All or nothing: a failed upload or signature removes what this album already stored.
  std::vector<std::string> stored;
  const auto unstore = [&storage, &stored] {
    for (const auto& name : stored) (void)storage.remove(name);
  };
  AlbumJobResult result;
  for (std::size_t i = 0; i < album.tracks.size(); ++i) {
    if (auto put = storage.upload(album.tracks[i].output, mastered_names[i],
                                  storage::content_type_for_name(mastered_names[i]));
        !put) {
      unstore();
      return api_error_from_storage(put.error(), "mastered object");
    }
    stored.push_back(mastered_names[i]);
  }
  const nlohmann::json album_json = mastering::to_json(*report);
  for (std::size_t i = 0; i < album.tracks.size(); ++i) {
    auto url = storage.sign_url(mastered_names[i], storage::HttpMethod::kGet, options.download_url_ttl, "");
    if (!url) {
      unstore();
      return api_error_from_storage(url.error(), "mastered object");
    }
    result.tracks.push_back({request.file_names[i], mastered_names[i], std::move(*url), album_json["tracks"][i]});
  }
  result.album = {{"mode", album_json["mode"]},
                  {"targetLoudnessLufs", album_json["targetLoudnessLufs"]},
                  {"loudestInputLufs", album_json["loudestInputLufs"]}};
  return result;
}

}  // namespace spectrum::server
