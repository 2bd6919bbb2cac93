// `spectrum-master signurl`: a V4 signed URL from a service-account key, in the manner of
// `gsutil signurl`. Prints the URL and nothing else on stdout, so scripts can capture it.
#include <chrono>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "storage/credentials.h"
#include "storage/v4_sign.h"

namespace spectrum::cli {
namespace {

struct SignurlOptions {
  std::string key_path;
  std::string bucket;
  std::string object;
  std::string method = "GET";
  long duration_s = 3600;
  std::string timestamp;  // ISO 8601 UTC; empty means now
  std::string content_type;
};

Expected<std::string> run_signurl(const SignurlOptions& options) {
  auto key = storage::load_service_account_key(options.key_path);
  if (!key) return std::move(key).error();
  auto signer = storage::make_rsa_signer(key->client_email, key->private_key_pem);
  if (!signer) return std::move(signer).error();

  storage::V4SignRequest request;
  request.method = options.method;
  request.bucket = options.bucket;
  request.object = options.object;
  request.expires = std::chrono::seconds{options.duration_s};
  request.timestamp = std::chrono::system_clock::now();
  if (!options.timestamp.empty()) {
    auto pinned = storage::parse_iso8601_utc(options.timestamp);
    if (!pinned) return std::move(pinned).error();
    request.timestamp = *pinned;
  }
  if (!options.content_type.empty()) request.headers.emplace_back("Content-Type", options.content_type);
  auto signed_url = storage::sign_v4_url(request, **signer);
  if (!signed_url) return std::move(signed_url).error();
  return std::move(signed_url->url);
}

}  // namespace

void register_signurl_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<SignurlOptions>();
  CLI::App* command = app.add_subcommand("signurl", "Print a V4 signed URL for a GCS object (like gsutil signurl)");
  command->add_option("--key", options->key_path, "Service-account key file (JSON)")->required();
  command->add_option("--bucket", options->bucket, "Bucket name")->required();
  command->add_option("--object", options->object, "Object name (slashes, spaces and unicode are fine)")->required();
  command->add_option("--method", options->method, "HTTP method the URL allows")
      ->check(CLI::IsMember({"GET", "PUT"}))
      ->capture_default_str();
  command->add_option("--duration", options->duration_s, "Validity in seconds, at most 604800 (7 days)")
      ->capture_default_str();
  command->add_option("--timestamp", options->timestamp,
                      "Signing time, ISO 8601 UTC (e.g. 2019-02-01T09:00:00Z); default now");
  command->add_option("--content-type", options->content_type,
                      "For PUT: the Content-Type the uploader must send (signed)");
  command->callback([options, &exit_code] {
    auto url = run_signurl(*options);
    if (!url) {
      std::cerr << "error: " << url.error().message << "\n";
      exit_code = exit_code_for(url.error());
      return;
    }
    std::cout << *url << "\n";
    exit_code = kExitOk;
  });
}

}  // namespace spectrum::cli
