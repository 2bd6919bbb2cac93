// The service's configuration: parsed and validated once, at start-up. Precedence: built-in default,
// then the environment, then command-line flags. A bad value is an error naming the key and what is allowed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace spectrum::server {

struct GcsConfig {               // environment only; read by the GCS backend
  std::string project_id;        // GOOGLE_CLOUD_PROJECT_ID
  std::string bucket_name;       // GOOGLE_CLOUD_BUCKET_NAME: set means "use GCS"
  std::string credentials_json;  // GOOGLE_APPLICATION_CREDENTIALS_JSON
  std::string credentials_file;  // GOOGLE_APPLICATION_CREDENTIALS
  std::string emulator_host;     // STORAGE_EMULATOR_HOST
};

struct ServerConfig {
  std::string host = "0.0.0.0";
  int port = 8080;
  std::filesystem::path port_file;  // when set, the bound port is written here (for tests and scripts)
  std::filesystem::path data_dir = "data";
  std::filesystem::path temp_dir;  // empty: the system temporary directory
  int max_jobs = 1;                // default: the core count
  int max_queue = 4;
  int http_threads = 0;  // workers for waiting requests; default: max_jobs + max_queue + 8
  std::uint64_t max_body_bytes = std::uint64_t{64} * 1024;
  // 256 MiB admits 20 minutes (max_duration_s) of 48 kHz 16-bit stereo WAV, 230 MB (docs/configuration.md).
  std::uint64_t max_input_bytes = 256ull * 1024 * 1024;
  double max_duration_s = 1200.0;
  double rate_limit_per_minute = 120.0;  // 0 disables rate limiting
  double rate_limit_burst = 30.0;
  double shutdown_grace_s = 8.0;  // the whole drain; Cloud Run sends SIGKILL 10 s after SIGTERM
  double header_timeout_s = 10.0;
  double idle_timeout_s = 5.0;
  double body_timeout_s = 30.0;
  int max_connections = 1000;
  int max_connections_per_address = 256;
  std::string public_url;                                   // empty: derived from each request's Host header
  std::optional<std::vector<std::string>> allowed_origins;  // nullopt: local development (loopback origins)
  std::string api_token;                                    // empty: no authentication
  int trusted_proxy_hops = 0;
  std::string signing_secret;  // empty: <data-dir>/signing-key
  std::int64_t download_url_ttl_s = std::int64_t{24} * 3600;
  std::int64_t upload_url_ttl_s = std::int64_t{15} * 60;
  std::string log_level = "info";
  GcsConfig gcs;
};

// One configuration key: its flag, its environment variable and how to read it.
struct ConfigKey {
  std::string flag;          // without "--"; empty for environment-only keys
  std::string env;           // empty for flag-only keys
  std::string default_text;  // as documented in docs/configuration.md
  std::string help;
};

// Every key, in documentation order.
const std::vector<ConfigKey>& config_keys();

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// `flags` maps a flag name (without "--") to the value given on the command line. Empty environment
// values count as unset. Returns kInvalidArgument with a message such as
// "PORT must be an integer between 0 and 65535 (got 'http')".
Expected<ServerConfig> load_config(const EnvLookup& env, const std::map<std::string, std::string>& flags);

// The process environment.
std::optional<std::string> process_env(const std::string& name);

}  // namespace spectrum::server
