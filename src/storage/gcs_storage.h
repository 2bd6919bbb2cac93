// The Google Cloud Storage backend: the GCS JSON API over libcurl, our own small client (google-cloud-cpp
// is not packaged for Debian 12). The service uses it when GOOGLE_CLOUD_BUCKET_NAME is set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/retry.h"
#include "storage/storage.h"

namespace spectrum::storage {

struct GcsOptions {
  std::string project_id;  // GOOGLE_CLOUD_PROJECT_ID (or GOOGLE_CLOUD_PROJECT); informational (object calls need only
                           // the bucket)
  std::string bucket;      // GOOGLE_CLOUD_BUCKET_NAME
  std::string credentials_json;  // GOOGLE_APPLICATION_CREDENTIALS_JSON: the key's JSON text (first choice)
  std::string credentials_path;  // GOOGLE_APPLICATION_CREDENTIALS: a key file (second choice)
  // STORAGE_EMULATOR_HOST ("host:port" or "http://host:port"): requests go there with no access token;
  // signed URLs point there too and are still signed with the key.
  std::string emulator_host;
  std::string metadata_host = "metadata.google.internal";              // GCE_METADATA_HOST
  std::string endpoint = "https://storage.googleapis.com";             // JSON API and signed-URL host
  std::string iam_endpoint = "https://iamcredentials.googleapis.com";  // SPECTRUM_IAM_CREDENTIALS_ENDPOINT
  std::string token_scope = "https://www.googleapis.com/auth/devstorage.read_write";

  // Retry policy for every storage call and every token fetch
  // (SPECTRUM_GCS_RETRY_MAX_ATTEMPTS, SPECTRUM_GCS_RETRY_MAX_TOTAL_MS).
  RetryPolicy retry;
  // Files at or above this size go up as resumable uploads. By default the whole file streams in one PUT
  // (Google's advice when the source is a file), and after a failure the upload resumes from the offset
  // the session reports. A non-zero `upload_chunk_bytes` (a multiple of 256 KiB, as GCS requires) sends
  // chunks instead, e.g. behind a proxy that limits request sizes.
  std::uint64_t resumable_threshold_bytes = 8u << 20;
  std::uint64_t upload_chunk_bytes = 0;
};

// Reads the variables named above. Never fails: validation happens in make_gcs_storage.
GcsOptions gcs_options_from_environment();

// The GCS backend wrapped in the retry decorator: the stack the service uses. Resolves credentials
// (JSON text, then key file, then the metadata server) without touching the network.
// kInvalidArgument: no bucket, an unreadable key, a chunk size that is not a multiple of 256 KiB. kNotFound: the key
// file is absent.
Expected<std::unique_ptr<Storage>> make_gcs_storage(const GcsOptions& options);

}  // namespace spectrum::storage
