#include "server/master_job.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <system_error>

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

}  // namespace

MasterJobOutcome run_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                const MasterJobRequest& request) {
  if (auto valid = storage::validate_object_name(request.file_name); !valid) {
    return ApiError{400, "fileName: " + valid.error().message, valid.error().message};
  }
  std::optional<std::string_view> output_extension;
  if (request.settings.output_format) output_extension = audio::traits(*request.settings.output_format).extension;
  auto mastered_name = mastered_object_name(request.file_name, output_extension);
  if (!mastered_name) return ApiError{400, mastered_name.error().message, mastered_name.error().message};

  const auto& reference_name = request.settings.reference_file_name;
  if (reference_name) {
    if (auto valid = storage::validate_object_name(*reference_name); !valid) {
      return ApiError{400, "settings.referenceFileName: " + valid.error().message, valid.error().message};
    }
  }
  if (auto error = check_size(storage, request.file_name, "input object", options.max_input_bytes)) return *error;
  if (reference_name) {
    if (auto error = check_size(storage, *reference_name, "reference object", options.max_input_bytes)) return *error;
  }

  const fs::path temp_root = options.temp_dir.empty() ? fs::temp_directory_path() : options.temp_dir;
  std::error_code ec;
  fs::create_directories(temp_root / ("spectrum-job-" + request.job_id), ec);
  if (ec) return ApiError{500, "internal error", "cannot create the job folder: " + ec.message()};
  const JobDir job_dir(temp_root / ("spectrum-job-" + request.job_id));

  MasterJobResult result;
  result.mastered_name = *mastered_name;
  auto started = Clock::now();
  mastering::MasterJob job;
  job.input = job_dir.path() / ("input" + safe_suffix(request.file_name));
  job.output = job_dir.path() / ("output" + safe_suffix(*mastered_name));
  job.settings = request.settings;
  job.limits.max_duration_s = options.max_duration_s;
  job.cancel = options.cancel;
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

  started = Clock::now();
  auto report = mastering::master_file(job);
  result.timings.master_s = seconds_since(started);
  if (!report) {
    ApiError error = api_error_from_engine(report.error());
    error.message = scrub(error.message, job.input, request.file_name);
    if (job.reference) error.message = scrub(error.message, *job.reference, *reference_name);
    error.message = scrub(error.message, job.output, *mastered_name);
    error.message = scrub(error.message, job_dir.path(), "<job>");
    return error;
  }

  started = Clock::now();
  if (auto stored = storage.upload(job.output, *mastered_name, storage::content_type_for_name(*mastered_name));
      !stored) {
    return api_error_from_storage(stored.error(), "mastered object");
  }
  auto url = storage.sign_url(*mastered_name, storage::HttpMethod::kGet, options.download_url_ttl, "");
  if (!url) return api_error_from_storage(url.error(), "mastered object");
  result.timings.upload_s = seconds_since(started);
  result.mastered_url = std::move(*url);
  result.report = mastering::to_json(*report);
  return result;
}

}  // namespace spectrum::server
