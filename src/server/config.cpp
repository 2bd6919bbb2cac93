#include "server/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <thread>

namespace spectrum::server {
namespace {

using Apply = std::function<Status(ServerConfig&, const std::string& value, const std::string& name)>;

struct KeySpec {
  ConfigKey key;
  Apply apply;
};

Error bad(const std::string& name, const std::string& what, const std::string& value) {
  std::string shown = value.size() > 60 ? value.substr(0, 60) + "..." : value;
  return make_error(ErrorCode::kInvalidArgument, name + " must be " + what + " (got '" + shown + "')");
}

template <class Int>
Expected<Int> parse_integer(const std::string& value, const std::string& name, Int min, Int max) {
  Int parsed{};
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  const std::string range = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || parsed < min || parsed > max) {
    return bad(name, range, value);
  }
  return parsed;
}

Expected<double> parse_number(const std::string& value, const std::string& name, double min, double max) {
  char* end = nullptr;
  const double parsed = std::strtod(value.c_str(), &end);
  auto text = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(parsed) || parsed < min || parsed > max) {
    return bad(name, "a number between " + text(min) + " and " + text(max), value);
  }
  return parsed;
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = value.find(',', start);
    std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

bool has_control_or_space(const std::string& value) {
  return std::ranges::any_of(value, [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; });
}

// An origin is scheme://host[:port] with nothing after it; browsers send exactly that form.
bool is_origin(const std::string& origin) {
  const bool http = origin.rfind("http://", 0) == 0;
  const bool https = origin.rfind("https://", 0) == 0;
  if (!http && !https) return false;
  const std::string rest = origin.substr(http ? 7 : 8);
  return !rest.empty() && rest.find('/') == std::string::npos && !has_control_or_space(origin);
}

template <class Int>
Apply integer_into(Int ServerConfig::*field, Int min, Int max) {
  return [field, min, max](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
    auto parsed = parse_integer<Int>(v, name, min, max);
    if (!parsed) return std::move(parsed).error();
    c.*field = *parsed;
    return {};
  };
}

Apply number_into(double ServerConfig::*field, double min, double max) {
  return [field, min, max](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
    auto parsed = parse_number(v, name, min, max);
    if (!parsed) return std::move(parsed).error();
    c.*field = *parsed;
    return {};
  };
}

Apply text_into(std::string GcsConfig::*field) {
  return [field](ServerConfig& c, const std::string& v, const std::string&) -> Status {
    c.gcs.*field = v;
    return {};
  };
}

const std::vector<KeySpec>& specs() {
  static const std::vector<KeySpec> kSpecs = {
      {{"host", "SPECTRUM_HOST", "0.0.0.0", "Address to listen on (127.0.0.1 for loopback only)"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         if (v.empty() || has_control_or_space(v)) return bad(name, "an IP address or host name", v);
         c.host = v;
         return {};
       }},
      {{"port", "PORT", "8080", "TCP port; 0 picks a free port (see --port-file)"},
       integer_into(&ServerConfig::port, 0, 65535)},
      {{"port-file", "SPECTRUM_PORT_FILE", "(none)", "Write the bound port to this file once listening"},
       [](ServerConfig& c, const std::string& v, const std::string&) -> Status {
         c.port_file = v;
         return {};
       }},
      {{"data-dir", "SPECTRUM_DATA_DIR", "./data",
        "Local storage: objects under <dir>/objects, key in <dir>/signing-key"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         if (v.empty()) return bad(name, "a directory path", v);
         c.data_dir = v;
         return {};
       }},
      {{"temp-dir", "SPECTRUM_TEMP_DIR", "system temp ($TMPDIR or /tmp)", "Where per-job working files go"},
       [](ServerConfig& c, const std::string& v, const std::string&) -> Status {
         c.temp_dir = v;
         return {};
       }},
      {{"max-jobs", "SPECTRUM_MAX_JOBS", "core count", "Mastering jobs run at once"},
       integer_into(&ServerConfig::max_jobs, 1, 256)},
      {{"max-queue", "SPECTRUM_MAX_QUEUE", "4", "Jobs that may wait for a slot; beyond that, 503"},
       integer_into(&ServerConfig::max_queue, 0, 1024)},
      {{"http-threads", "SPECTRUM_HTTP_THREADS", "max-jobs + max-queue + 8",
        "Threads for requests that wait on jobs or storage (at least max-jobs + max-queue + 2, so uploads and "
        "upload URLs are served while jobs run)"},
       integer_into(&ServerConfig::http_threads, 1, 4096)},
      {{"max-body-bytes", "SPECTRUM_MAX_BODY_BYTES", "65536", "Largest JSON request body"},
       integer_into<std::uint64_t>(&ServerConfig::max_body_bytes, 1024, 16ull * 1024 * 1024)},
      {{"max-input-bytes", "SPECTRUM_MAX_INPUT_BYTES", "268435456 (256 MiB)",
        "Largest input object (and largest PUT upload)"},
       integer_into<std::uint64_t>(&ServerConfig::max_input_bytes, 1024, 16ull * 1024 * 1024 * 1024)},
      {{"max-duration-seconds", "SPECTRUM_MAX_DURATION_SECONDS", "1200", "Longest input audio"},
       number_into(&ServerConfig::max_duration_s, 1.0, 86400.0)},
      {{"rate-limit", "SPECTRUM_RATE_LIMIT", "120:30",
        "Per-client token bucket: <requests per minute>[:<burst>]; 0 disables"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         const std::string what =
             "<requests per minute>[:<burst>] with 0 to 100000 per minute and a burst of 1 "
             "to 10000, or 0 to disable";
         const auto colon = v.find(':');
         auto rate = parse_number(v.substr(0, colon), name, 0.0, 100000.0);
         if (!rate) return bad(name, what, v);
         double burst = std::max(1.0, std::ceil(*rate / 4.0));
         if (colon != std::string::npos) {
           auto parsed = parse_number(v.substr(colon + 1), name, 1.0, 10000.0);
           if (!parsed) return bad(name, what, v);
           burst = *parsed;
         }
         c.rate_limit_per_minute = *rate;
         c.rate_limit_burst = burst;
         return {};
       }},
      {{"shutdown-grace-seconds", "SPECTRUM_SHUTDOWN_GRACE_SECONDS", "8",
        "On SIGTERM/SIGINT, the whole drain: running jobs finish or are cancelled (503) and the process exits "
        "within it (Cloud Run kills 10 s after SIGTERM)"},
       number_into(&ServerConfig::shutdown_grace_s, 0.0, 3600.0)},
      {{"header-timeout-seconds", "SPECTRUM_HEADER_TIMEOUT_SECONDS", "10",
        "A request's headers must arrive within this; slower clients are disconnected"},
       number_into(&ServerConfig::header_timeout_s, 0.1, 300.0)},
      {{"idle-timeout-seconds", "SPECTRUM_IDLE_TIMEOUT_SECONDS", "5", "Idle keep-alive connections close after this"},
       number_into(&ServerConfig::idle_timeout_s, 0.1, 300.0)},
      {{"body-timeout-seconds", "SPECTRUM_BODY_TIMEOUT_SECONDS", "30",
        "A request body that makes no progress this long is answered 408 and nothing is stored"},
       number_into(&ServerConfig::body_timeout_s, 0.1, 600.0)},
      {{"max-connections", "SPECTRUM_MAX_CONNECTIONS", "1000 (at most the open-file limit - 64)",
        "Open client connections; beyond that, new ones are closed at once"},
       integer_into(&ServerConfig::max_connections, 1, 1000000)},
      {{"max-connections-per-address", "SPECTRUM_MAX_CONNECTIONS_PER_ADDRESS", "256",
        "Open connections from one client address (behind Cloud Run, from one front-end proxy)"},
       integer_into(&ServerConfig::max_connections_per_address, 1, 1000000)},
      {{"public-url", "SPECTRUM_PUBLIC_URL", "(derived from the request's Host header)",
        "Base URL of this service, used in signed local URLs, e.g. https://master.example.com"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         std::string base = v;
         while (!base.empty() && base.back() == '/') base.pop_back();
         if (!is_origin(base)) return bad(name, "an http:// or https:// URL with no path", v);
         c.public_url = base;
         return {};
       }},
      {{"allowed-origins", "ALLOWED_ORIGINS", "(unset: http://localhost, 127.0.0.1 and [::1] on any port)",
        "Comma-separated CORS origins, e.g. https://app.example.com; '*' allows any origin"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         std::vector<std::string> origins = split_list(v);
         for (auto& origin : origins) {
           while (origin.size() > 1 && origin.back() == '/') origin.pop_back();
           if (origin != "*" && !is_origin(origin)) {
             return bad(name, "a comma-separated list of origins such as https://app.example.com (or '*')", origin);
           }
         }
         c.allowed_origins = std::move(origins);
         return {};
       }},
      {{"api-token", "SPECTRUM_BACKEND_API_TOKEN", "(unset: no authentication)",
        "Bearer token required on /api/*; prefer the environment so it never shows in ps"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         if (v.size() < 16 || has_control_or_space(v)) {
           return bad(name, "at least 16 characters with no spaces or control characters", "<redacted>");
         }
         c.api_token = v;
         return {};
       }},
      {{"trusted-proxy-hops", "SPECTRUM_TRUSTED_PROXY_HOPS", "0",
        "Proxies in front of the service that append to X-Forwarded-For (1 on Cloud Run)"},
       integer_into(&ServerConfig::trusted_proxy_hops, 0, 10)},
      {{"", "SPECTRUM_SIGNING_SECRET", "(unset: generated once into <data-dir>/signing-key)",
        "HMAC secret for local signed URLs, at least 32 bytes"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         if (v.size() < 32) return bad(name, "at least 32 bytes long", "<redacted>");
         c.signing_secret = v;
         return {};
       }},
      {{"download-url-ttl-seconds", "SPECTRUM_DOWNLOAD_URL_TTL_SECONDS", "86400 (24 h)",
        "Lifetime of masteredUrl and other signed GET URLs"},
       integer_into<std::int64_t>(&ServerConfig::download_url_ttl_s, 60, std::int64_t{7} * 24 * 3600)},
      {{"upload-url-ttl-seconds", "SPECTRUM_UPLOAD_URL_TTL_SECONDS", "900 (15 min)",
        "Lifetime of signed PUT URLs from /api/upload-url"},
       integer_into<std::int64_t>(&ServerConfig::upload_url_ttl_s, 60, std::int64_t{7} * 24 * 3600)},
      {{"log-level", "SPECTRUM_LOG_LEVEL", "info", "debug, info, warning or error"},
       [](ServerConfig& c, const std::string& v, const std::string& name) -> Status {
         if (v != "debug" && v != "info" && v != "warning" && v != "error") {
           return bad(name, "one of debug, info, warning, error", v);
         }
         c.log_level = v;
         return {};
       }},
      {{"", "GOOGLE_CLOUD_BUCKET_NAME", "(unset: local storage)", "Use Google Cloud Storage with this bucket"},
       text_into(&GcsConfig::bucket_name)},
      {{"", "GOOGLE_CLOUD_PROJECT_ID", "(unset)", "Google Cloud project of the bucket"},
       text_into(&GcsConfig::project_id)},
      {{"", "GOOGLE_APPLICATION_CREDENTIALS_JSON", "(unset)", "Service-account key JSON, inline"},
       text_into(&GcsConfig::credentials_json)},
      {{"", "GOOGLE_APPLICATION_CREDENTIALS", "(unset: metadata server on Cloud Run)",
        "Path to a service-account key file"},
       text_into(&GcsConfig::credentials_file)},
      {{"", "STORAGE_EMULATOR_HOST", "(unset)", "GCS emulator endpoint, for tests"},
       text_into(&GcsConfig::emulator_host)},
  };
  return kSpecs;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> kKeys = [] {
    std::vector<ConfigKey> keys;
    for (const auto& spec : specs()) keys.push_back(spec.key);
    return keys;
  }();
  return kKeys;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Expected<ServerConfig> load_config(const EnvLookup& env, const std::map<std::string, std::string>& flags) {
  ServerConfig config;
  config.max_jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool threads_given = false;
  for (const auto& spec : specs()) {
    std::optional<std::string> value;
    std::string source;
    if (!spec.key.env.empty()) {
      if (auto from_env = env(spec.key.env); from_env && !from_env->empty()) {
        value = std::move(from_env);
        source = spec.key.env;
      }
    }
    if (!spec.key.flag.empty()) {
      if (auto it = flags.find(spec.key.flag); it != flags.end()) {
        value = it->second;
        source = "--" + spec.key.flag;
      }
    }
    if (!value) continue;
    if (spec.key.flag == "http-threads") threads_given = true;
    SPECTRUM_TRY(spec.apply(config, *value, source));
  }
  for (const auto& entry : flags) {
    const std::string& flag = entry.first;  // a named reference: lambdas cannot capture structured bindings in clang
    const bool known =
        std::any_of(specs().begin(), specs().end(), [&](const KeySpec& s) { return s.key.flag == flag; });
    if (!known) return make_error(ErrorCode::kInvalidArgument, "unknown option --" + flag);
  }
  const int needed_threads = config.max_jobs + config.max_queue + 2;
  if (!threads_given) {
    config.http_threads = config.max_jobs + config.max_queue + 8;
  } else if (config.http_threads < needed_threads) {
    return make_error(ErrorCode::kInvalidArgument,
                      "http-threads must be at least max-jobs + max-queue + 2 = " + std::to_string(needed_threads) +
                          " so that upload URLs are served while jobs run (got " + std::to_string(config.http_threads) +
                          ")");
  }
  return config;
}

}  // namespace spectrum::server
