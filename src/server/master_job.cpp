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

// The job's working folder, under the temp dir: created here, removed however the job ends.
class JobDir {
 public:
  JobDir(const MasterJobOptions& options, const std::string& job_id)
      : path_((options.temp_dir.empty() ? fs::temp_directory_path() : options.temp_dir) / ("spectrum-job-" + job_id)) {
    fs::create_directories(path_, created_);
  }
  JobDir(const JobDir&) = delete;
  JobDir& operator=(const JobDir&) = delete;
  ~JobDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }
  // The 500 to answer when the folder could not be made.
  [[nodiscard]] std::optional<ApiError> error() const {
    if (!created_) return std::nullopt;
    return ApiError{500, "internal error", "cannot create the job folder: " + created_.message()};
  }

 private:
  fs::path path_;
  std::error_code created_;
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

// The object's size, or the error to answer: 404 and friends from storage, 413 over the limit.
std::variant<std::uint64_t, ApiError> check_size(storage::Storage& storage, const std::string& name,
                                                 const std::string& role, std::uint64_t max_bytes) {
  auto info = storage.stat(name);
  if (!info) return api_error_from_storage(info.error(), role);
  if (max_bytes > 0 && info->size_bytes > max_bytes) {
    const std::string message = role + " is " + std::to_string(info->size_bytes) + " bytes; the limit is " +
                                std::to_string(max_bytes) + " bytes";
    return ApiError{413, message, message};
  }
  return info->size_bytes;
}

// Stores every file under its object name and signs a download URL for each, or stores nothing: a failed
// upload or signature removes what this call already stored.
struct Upload {
  fs::path file;
  std::string name;
};
std::variant<std::vector<storage::SignedUrl>, ApiError> store_all(storage::Storage& storage,
                                                                  const std::vector<Upload>& uploads,
                                                                  std::chrono::seconds ttl) {
  std::vector<std::string> stored;
  const auto fail = [&storage, &stored](const Error& error) {
    for (const auto& name : stored) (void)storage.remove(name);
    return api_error_from_storage(error, "mastered object");
  };
  for (const Upload& upload : uploads) {
    if (auto put = storage.upload(upload.file, upload.name, storage::content_type_for_name(upload.name)); !put) {
      return fail(put.error());
    }
    stored.push_back(upload.name);
  }
  std::vector<storage::SignedUrl> urls;
  urls.reserve(uploads.size());
  for (const Upload& upload : uploads) {
    auto url = storage.sign_url(upload.name, storage::HttpMethod::kGet, ttl, "");
    if (!url) return fail(url.error());
    urls.push_back(std::move(*url));
  }
  return urls;
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

// check_master_job, giving the input's size when it passes.
std::variant<std::uint64_t, ApiError> check_inputs(storage::Storage& storage, const MasterJobOptions& options,
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
  auto input = check_size(storage, request.file_name, "input object", options.max_input_bytes);
  if (std::holds_alternative<ApiError>(input) || !reference_name) return input;
  if (auto reference = check_size(storage, *reference_name, "reference object", options.max_input_bytes);
      std::holds_alternative<ApiError>(reference)) {
    return reference;
  }
  return input;
}

}  // namespace

std::optional<ApiError> check_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                         const MasterJobRequest& request) {
  auto checked = check_inputs(storage, options, request);
  if (auto* error = std::get_if<ApiError>(&checked)) return std::move(*error);
  return std::nullopt;
}

MasterJobOutcome run_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                const MasterJobRequest& request) {
  if (auto error = check_master_job(storage, options, request)) return *error;
  const auto& reference_name = request.settings.reference_file_name;

  const JobDir job_dir(options, request.job_id);
  if (auto error = job_dir.error()) return *error;

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
  // A bundle is stored whole or not at all.
  std::vector<Upload> uploads;
  uploads.reserve(deliveries.size());
  for (const Delivery& delivery : deliveries) uploads.push_back({delivery.file, delivery.name});
  auto urls = store_all(storage, uploads, options.download_url_ttl);
  if (auto* error = std::get_if<ApiError>(&urls)) return *error;
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const Delivery& delivery = deliveries[i];
    result.deliverables.push_back({delivery.name, std::move(std::get<0>(urls)[i]), format_name_of(delivery.name),
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
    const MasterJobRequest one{request.job_id, name, request.settings};
    auto checked = check_inputs(storage, options, one);
    if (auto* error = std::get_if<ApiError>(&checked)) {
      error->message = name + ": " + error->message;
      return *error;
    }
    total_bytes += std::get<std::uint64_t>(checked);
    if (options.max_input_bytes > 0 && total_bytes > max_total_bytes) {
      const std::string message = "the album's tracks are over " + std::to_string(max_total_bytes) +
                                  " bytes together (twice max-input-bytes); send FLAC or MP3, or fewer tracks";
      return ApiError{413, message, message};
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

  const JobDir job_dir(options, request.job_id);
  if (auto error = job_dir.error()) return *error;

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

  // All or nothing.
  std::vector<Upload> uploads;
  uploads.reserve(album.tracks.size());
  for (std::size_t i = 0; i < album.tracks.size(); ++i) uploads.push_back({album.tracks[i].output, mastered_names[i]});
  auto urls = store_all(storage, uploads, options.download_url_ttl);
  if (auto* error = std::get_if<ApiError>(&urls)) return *error;
  AlbumJobResult result;
  const nlohmann::json album_json = mastering::to_json(*report);
  for (std::size_t i = 0; i < album.tracks.size(); ++i) {
    result.tracks.push_back(
        {request.file_names[i], mastered_names[i], std::move(std::get<0>(urls)[i]), album_json["tracks"][i]});
  }
  result.album = {{"mode", album_json["mode"]},
                  {"targetLoudnessLufs", album_json["targetLoudnessLufs"]},
                  {"loudestInputLufs", album_json["loudestInputLufs"]}};
  return result;
}

}  // namespace spectrum::server
