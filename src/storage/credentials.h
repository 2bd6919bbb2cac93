// Service-account credentials and the order in which the GCS backend looks for them
// (docs/decisions/020-gcs-credentials-order.md):
//   1. GOOGLE_APPLICATION_CREDENTIALS_JSON: the key's JSON text;
//   2. GOOGLE_APPLICATION_CREDENTIALS: a path to a key file;
//   3. the metadata server (the service account attached to Cloud Run; no key at all).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace spectrum::storage {

inline constexpr std::string_view kDefaultTokenUri = "https://oauth2.googleapis.com/token";

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key_pem;
  std::string private_key_id;
  std::string project_id;
  std::string token_uri;  // where the signed JWT is exchanged for an access token
};

// Parses a service-account key file's JSON. kInvalidArgument naming the missing field; never quotes the key.
Expected<ServiceAccountKey> parse_service_account_key(std::string_view json_text);
// Reads and parses a key file. kNotFound when the file is absent.
Expected<ServiceAccountKey> load_service_account_key(const std::filesystem::path& path);

enum class CredentialSource { kKeyJson, kKeyFile, kMetadataServer };
const char* to_string(CredentialSource source) noexcept;

struct ResolvedCredentials {
  CredentialSource source = CredentialSource::kMetadataServer;
  std::optional<ServiceAccountKey> key;  // empty for the metadata server
};

// Applies the order above to already-read settings: non-empty `key_json` wins, then `key_path`,
// then the metadata server. A key that is given but unreadable is an error, never a silent fallback.
Expected<ResolvedCredentials> resolve_credentials(std::string_view key_json, std::string_view key_path);

}  // namespace spectrum::storage
