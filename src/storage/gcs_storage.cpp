#include "storage/gcs_storage.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/atomic_file.h"
#include "storage/credentials.h"
#include "storage/http_client.h"
#include "storage/oauth.h"
#include "storage/percent_encoding.h"
#include "storage/v4_sign.h"

namespace spectrum::storage {
namespace {

constexpr std::uint64_t kChunkGranularityBytes = std::uint64_t{256} * 1024;

struct ObjectMetadata {
  ObjectInfo info;
  std::string generation;
};

std::uint64_t json_uint(const nlohmann::json& json, const char* field) {
  const auto it = json.find(field);
  if (it == json.end()) return 0;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  }
  return 0;
}

std::string json_string(const nlohmann::json& json, const char* field) {
  const auto it = json.find(field);
  if (it == json.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return {};
}

// "bytes=0-1234" (the last byte GCS holds) -> the next offset to send.
std::uint64_t next_offset_from_range(const std::string& range) {
  const auto dash = range.rfind('-');
  if (range.empty() || dash == std::string::npos) return 0;
  std::uint64_t last = 0;
  std::from_chars(range.data() + dash + 1, range.data() + range.size(), last);
  return last + 1;
}

class GcsStorage final : public Storage {
 public:
  GcsStorage(GcsOptions options, std::string api_base, Endpoint signing_endpoint, std::shared_ptr<TokenCache> tokens,
             std::shared_ptr<BlobSigner> signer)
      : options_(std::move(options)),
        api_base_(std::move(api_base)),
        signing_endpoint_(std::move(signing_endpoint)),
        tokens_(std::move(tokens)),
        signer_(std::move(signer)) {}

  Expected<ObjectInfo> stat(std::string_view name) override {
    SPECTRUM_TRY(validate_object_name(name));
    auto metadata = get_metadata(name);
    if (!metadata) return std::move(metadata).error();
    return metadata->info;
  }

  Status download(std::string_view name, const std::filesystem::path& destination) override {
    SPECTRUM_TRY(validate_object_name(name));
    auto file = AtomicFile::create(destination);
    if (!file) return std::move(file).error();
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> sink(std::fopen(file->temp_path().c_str(), "wb"), &std::fclose);
    if (!sink) return make_error(ErrorCode::kIoError, "cannot write " + file->temp_path().string());
    HttpRequest request;
    request.url = object_url(name) + "?alt=media";
    request.response_sink = sink.get();
    SPECTRUM_TRY(send_expecting_ok(request, "download " + describe(name)));
    if (std::fflush(sink.get()) != 0 || std::ferror(sink.get()) != 0) {
      return make_error(ErrorCode::kIoError, "cannot write " + file->temp_path().string());
    }
    sink.reset();
    return file->commit();
  }

  Status upload(const std::filesystem::path& source, std::string_view name, std::string_view content_type) override {
    SPECTRUM_TRY(validate_object_name(name));
    std::error_code ec;
    const std::uint64_t size_bytes = std::filesystem::file_size(source, ec);
    if (ec) return make_error(ErrorCode::kNotFound, "cannot read upload source " + source.string());
    // The precondition names the generation this attempt saw (0: none), so an attempt never replaces a
    // version written by someone else in between; a retry re-observes and writes the same bytes again.
    std::string generation = "0";
    if (auto existing = get_metadata(name)) {
      generation = existing->generation;
    } else if (existing.error().code != ErrorCode::kNotFound) {
      return std::move(existing).error();
    }
    const std::string type = content_type.empty() ? "application/octet-stream" : std::string(content_type);
    if (size_bytes < options_.resumable_threshold_bytes)
      return upload_simple(source, size_bytes, name, type, generation);
    return upload_resumable(source, size_bytes, name, type, generation);
  }

  Status remove(std::string_view name) override {
    SPECTRUM_TRY(validate_object_name(name));
    HttpRequest request;
    request.method = "DELETE";
    request.url = object_url(name);
    request.timeout = std::chrono::seconds{60};
    SPECTRUM_TRY(send_expecting_ok(request, "delete " + describe(name)));
    return {};
  }

  Expected<SignedUrl> sign_url(std::string_view name, HttpMethod method, std::chrono::seconds ttl,
                               std::string_view content_type) override {
    SPECTRUM_TRY(validate_object_name(name));
    V4SignRequest request;
    request.method = method == HttpMethod::kPut ? "PUT" : "GET";
    request.bucket = options_.bucket;
    request.object = std::string(name);
    request.expires = ttl;
    request.timestamp = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    request.scheme = signing_endpoint_.scheme;
    request.authority = signing_endpoint_.authority;
    if (method == HttpMethod::kPut && !content_type.empty()) {
      request.headers.emplace_back("Content-Type", std::string(content_type));
    }
    auto signed_url = sign_v4_url(request, *signer_);
    if (!signed_url) return std::move(signed_url).error();
    return SignedUrl{std::move(signed_url->url), request.timestamp + ttl};
  }

 private:
  [[nodiscard]] std::string describe(std::string_view name) const {
    return "gs://" + options_.bucket + "/" + std::string(name);
  }

  [[nodiscard]] std::string object_url(std::string_view name) const {
    return api_base_ + "/storage/v1/b/" + percent_encode(options_.bucket, false) + "/o/" + percent_encode(name, false);
  }

  [[nodiscard]] std::string upload_url(std::string_view name, std::string_view upload_type,
                                       const std::string& generation) const {
    return api_base_ + "/upload/storage/v1/b/" + percent_encode(options_.bucket, false) +
           "/o?uploadType=" + std::string(upload_type) + "&name=" + percent_encode(name, false) +
           "&ifGenerationMatch=" + generation;
  }

  // The emulator checks no token, and the official clients send none to it.
  Status add_auth(HttpRequest& request) {
    if (!tokens_) return {};
    auto token = tokens_->token();
    if (!token) return std::move(token).error();
    request.headers.push_back("Authorization: Bearer " + *token);
    return {};
  }

  // Authenticates and sends the request; a status other than 2xx is an error that names `what`.
  Expected<HttpResponse> send_expecting_ok(HttpRequest& request, const std::string& what) {
    SPECTRUM_TRY(add_auth(request));
    auto response = http_send(request);
    if (!response) return std::move(response).error();
    if (!response->ok()) return http_status_error(response->status, what, response->body);
    return response;
  }

  Expected<ObjectMetadata> get_metadata(std::string_view name) {
    HttpRequest request;
    request.url = object_url(name);
    request.timeout = std::chrono::seconds{30};
    auto response = send_expecting_ok(request, "stat " + describe(name));
    if (!response) return std::move(response).error();
    const nlohmann::json json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return make_error(ErrorCode::kUnavailable, "stat " + describe(name) + ": not JSON");
    ObjectMetadata metadata;
    metadata.info.size_bytes = json_uint(json, "size");
    metadata.info.content_type = json_string(json, "contentType");
    metadata.generation = json_string(json, "generation");
    if (metadata.generation.empty()) metadata.generation.push_back('0');  // assigning "0" trips GCC 12 -Wrestrict
    return metadata;
  }

  Status upload_simple(const std::filesystem::path& source, std::uint64_t size_bytes, std::string_view name,
                       const std::string& type, const std::string& generation) {
    HttpRequest request;
    request.method = "POST";
    request.url = upload_url(name, "media", generation);
    request.headers = {"Content-Type: " + type};
    request.body_file = source;
    request.body_length = size_bytes;
    SPECTRUM_TRY(send_expecting_ok(request, "upload " + describe(name)));
    return {};
  }

  // Resumable upload: one session, the rest of the file per PUT (or chunks). After a failed PUT the session is asked
  // how much it holds and the upload resumes from there; if even that fails, the error goes to the retry
  // decorator, which starts a new session.
  Status upload_resumable(const std::filesystem::path& source, std::uint64_t size_bytes, std::string_view name,
                          const std::string& type, const std::string& generation) {
    const std::string what = "upload " + describe(name);
    HttpRequest start;
    start.method = "POST";
    start.url = upload_url(name, "resumable", generation);
    start.headers = {"Content-Type: application/json; charset=UTF-8", "X-Upload-Content-Type: " + type,
                     "X-Upload-Content-Length: " + std::to_string(size_bytes)};
    start.body = nlohmann::json{{"name", std::string(name)}, {"contentType", type}}.dump();
    start.timeout = std::chrono::seconds{60};
    auto started = send_expecting_ok(start, what + " (session start)");
    if (!started) return std::move(started).error();
    const std::string session_url = started->header("location");
    if (session_url.empty()) return make_error(ErrorCode::kUnavailable, what + ": no resumable session URL");

    std::uint64_t offset = 0;
    int resumes_left = options_.retry.max_attempts;
    while (true) {
      const std::uint64_t remaining = size_bytes - offset;
      const std::uint64_t length =
          options_.upload_chunk_bytes == 0 ? remaining : std::min(options_.upload_chunk_bytes, remaining);
      HttpRequest chunk;
      chunk.method = "PUT";
      chunk.url = session_url;
      chunk.body_file = source;
      chunk.body_offset = offset;
      chunk.body_length = length;
      chunk.headers = {"Content-Range: bytes " + std::to_string(offset) + "-" + std::to_string(offset + length - 1) +
                       "/" + std::to_string(size_bytes)};
      SPECTRUM_TRY(add_auth(chunk));
      auto response = http_send(chunk);
      if (response && response->ok()) return {};
      if (response && response->status == 308) {
        offset = next_offset_from_range(response->header("range"));
        continue;
      }
      Error error = response ? http_status_error(response->status, what, response->body) : std::move(response).error();
      if (!is_retryable(error.code) || resumes_left-- <= 0) return error;
      auto resumed = query_session(session_url, size_bytes);
      if (!resumed) return error;
      if (*resumed >= size_bytes) return {};
      spdlog::warn("storage resume: operation=upload object={} offset={} of {} after \"{}\"", describe(name), *resumed,
                   size_bytes, error.message);
      offset = *resumed;
    }
  }

  // How many bytes the session holds; size_bytes when the upload already completed.
  Expected<std::uint64_t> query_session(const std::string& session_url, std::uint64_t size_bytes) {
    HttpRequest query;
    query.method = "PUT";
    query.url = session_url;
    query.headers = {"Content-Range: bytes */" + std::to_string(size_bytes)};
    query.timeout = std::chrono::seconds{30};
    SPECTRUM_TRY(add_auth(query));
    auto response = http_send(query);
    if (!response) return std::move(response).error();
    if (response->ok()) return size_bytes;
    if (response->status == 308) return next_offset_from_range(response->header("range"));
    return http_status_error(response->status, "resumable session status", response->body);
  }

  GcsOptions options_;
  std::string api_base_;
  Endpoint signing_endpoint_;
  std::shared_ptr<TokenCache> tokens_;  // null for the emulator
  std::shared_ptr<BlobSigner> signer_;
};

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

template <class T>
void override_from_environment(const char* name, T& target) {
  const std::string text = environment(name);
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && value > 0) target = value;
}

}  // namespace

GcsOptions gcs_options_from_environment() {
  GcsOptions options;
  options.bucket = environment("GOOGLE_CLOUD_BUCKET_NAME");
  options.project_id = environment("GOOGLE_CLOUD_PROJECT_ID");  // the server's name for it
  if (options.project_id.empty()) options.project_id = environment("GOOGLE_CLOUD_PROJECT");
  options.credentials_json = environment("GOOGLE_APPLICATION_CREDENTIALS_JSON");
  options.credentials_path = environment("GOOGLE_APPLICATION_CREDENTIALS");
  options.emulator_host = environment("STORAGE_EMULATOR_HOST");
  if (const std::string host = environment("GCE_METADATA_HOST"); !host.empty()) options.metadata_host = host;
  if (const std::string iam = environment("SPECTRUM_IAM_CREDENTIALS_ENDPOINT"); !iam.empty()) {
    const Endpoint parsed = parse_endpoint(iam, "https");  // a fake's "http://127.0.0.1:port" in tests
    options.iam_endpoint = parsed.scheme + "://" + parsed.authority;
  }
  override_from_environment("SPECTRUM_GCS_RETRY_MAX_ATTEMPTS", options.retry.max_attempts);
  long long max_total_ms = 0;
  override_from_environment("SPECTRUM_GCS_RETRY_MAX_TOTAL_MS", max_total_ms);
  if (max_total_ms > 0) options.retry.max_total = std::chrono::milliseconds{max_total_ms};
  return options;
}

Expected<std::unique_ptr<Storage>> make_gcs_storage(const GcsOptions& options) {
  if (options.bucket.empty()) return make_error(ErrorCode::kInvalidArgument, "GCS storage needs a bucket name");
  if (options.upload_chunk_bytes % kChunkGranularityBytes != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "upload chunk size must be 0 (one request) or a multiple of 256 KiB");
  }
  if (options.retry.max_attempts < 1) return make_error(ErrorCode::kInvalidArgument, "retry attempts must be >= 1");
  auto credentials = resolve_credentials(options.credentials_json, options.credentials_path);
  if (!credentials) return std::move(credentials).error();

  std::shared_ptr<TokenCache> tokens;
  std::shared_ptr<BlobSigner> signer;
  if (credentials->key) {
    auto key_signer = make_rsa_signer(credentials->key->client_email, credentials->key->private_key_pem);
    if (!key_signer) return std::move(key_signer).error();
    signer = std::move(*key_signer);
    tokens = std::make_shared<TokenCache>(
        make_service_account_token_source(*credentials->key, signer, options.token_scope), options.retry);
  } else {
    tokens = std::make_shared<TokenCache>(make_metadata_token_source(options.metadata_host), options.retry);
    signer = make_iam_signer("", tokens, options.metadata_host, options.iam_endpoint);
  }

  Endpoint endpoint = parse_endpoint(options.endpoint, "https");
  const bool emulated = !options.emulator_host.empty();
  if (emulated) endpoint = parse_endpoint(options.emulator_host, "http");
  std::string api_base = endpoint.scheme + "://" + endpoint.authority;
  spdlog::info("gcs storage: bucket={} credentials={} endpoint={}{}", options.bucket, to_string(credentials->source),
               api_base, emulated ? " (emulator, no access token)" : "");
  auto gcs = std::make_unique<GcsStorage>(options, std::move(api_base), std::move(endpoint),
                                          emulated ? nullptr : std::move(tokens), std::move(signer));
  return make_retrying_storage(std::move(gcs), options.retry);
}

}  // namespace spectrum::storage
