#include "storage/credentials.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace spectrum::storage {
namespace {

Expected<std::string> required_string(const nlohmann::json& json, const char* field) {
  const auto it = json.find(field);
  if (it == json.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return make_error(ErrorCode::kInvalidArgument, std::string("service-account key has no \"") + field + "\" field");
  }
  return it->get<std::string>();
}

std::string optional_string(const nlohmann::json& json, const char* field) {
  const auto it = json.find(field);
  return (it != json.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

}  // namespace

Expected<ServiceAccountKey> parse_service_account_key(std::string_view json_text) {
  const nlohmann::json json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "service-account key is not a JSON object");
  }
  if (const std::string type = optional_string(json, "type"); !type.empty() && type != "service_account") {
    return make_error(ErrorCode::kInvalidArgument,
                      "credentials of type \"" + type + "\" are not supported; use a service-account key");
  }
  ServiceAccountKey key;
  auto email = required_string(json, "client_email");
  if (!email) return std::move(email).error();
  auto pem = required_string(json, "private_key");
  if (!pem) return std::move(pem).error();
  key.client_email = std::move(*email);
  key.private_key_pem = std::move(*pem);
  key.private_key_id = optional_string(json, "private_key_id");
  key.project_id = optional_string(json, "project_id");
  key.token_uri = optional_string(json, "token_uri");
  if (key.token_uri.empty()) key.token_uri = std::string(kDefaultTokenUri);
  return key;
}

Expected<ServiceAccountKey> load_service_account_key(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorCode::kNotFound, "service-account key file not found: " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return make_error(ErrorCode::kIoError, "cannot read key file " + path.string());
  auto key = parse_service_account_key(text.str());
  if (!key) return make_error(key.error().code, key.error().message + " (" + path.string() + ")");
  return key;
}

const char* to_string(CredentialSource source) noexcept {
  switch (source) {
    case CredentialSource::kKeyJson:
      return "GOOGLE_APPLICATION_CREDENTIALS_JSON";
    case CredentialSource::kKeyFile:
      return "GOOGLE_APPLICATION_CREDENTIALS";
    case CredentialSource::kMetadataServer:
      return "metadata server";
  }
  return "unknown";
}

Expected<ResolvedCredentials> resolve_credentials(std::string_view key_json, std::string_view key_path) {
  if (!key_json.empty()) {
    auto key = parse_service_account_key(key_json);
    if (!key) {
      return make_error(key.error().code, "GOOGLE_APPLICATION_CREDENTIALS_JSON: " + key.error().message);
    }
    return ResolvedCredentials{CredentialSource::kKeyJson, std::move(*key)};
  }
  if (!key_path.empty()) {
    auto key = load_service_account_key(std::filesystem::path(key_path));
    if (!key) return make_error(key.error().code, "GOOGLE_APPLICATION_CREDENTIALS: " + key.error().message);
    return ResolvedCredentials{CredentialSource::kKeyFile, std::move(*key)};
  }
  return ResolvedCredentials{CredentialSource::kMetadataServer, std::nullopt};
}

}  // namespace spectrum::storage
