// One mastering job as the API runs it: storage object in, storage object out, the engine in between.
// Works on files in a per-job temporary folder that is removed when the job ends, success or not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "mastering/settings.h"
#include "server/api_error.h"
#include "storage/storage.h"

namespace spectrum::server {

struct MasterJobOptions {
  std::filesystem::path temp_dir;
  std::uint64_t max_input_bytes = 0;
  double max_duration_s = 0.0;
  std::chrono::seconds download_url_ttl{24 * 3600};
  const std::atomic<bool>* cancel = nullptr;  // set when the shutdown grace period runs out
};

struct MasterJobRequest {
  std::string job_id;
  std::string file_name;
  mastering::Settings settings;
};

struct MasterJobResult {
  std::string mastered_name;
  storage::SignedUrl mastered_url;  // may be root-relative for the local backend
  nlohmann::json report;
  struct Timings {
    double download_s = 0.0;
    double master_s = 0.0;
    double upload_s = 0.0;
  } timings;
};

using MasterJobOutcome = std::variant<MasterJobResult, ApiError>;

MasterJobOutcome run_master_job(storage::Storage& storage, const MasterJobOptions& options,
                                const MasterJobRequest& request);

}  // namespace spectrum::server
