#include "server/signed_files.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "server/api_error.h"
#include "server/json_log.h"
#include "storage/credentials_crypto.h"

namespace spectrum::server {
namespace {

constexpr std::size_t kMd5Bytes = 16;

std::string object_name(const HttpRequest& request) {
  return request.path.substr(std::min(request.path.size(), kFilesPrefix.size()));
}

// The MD5 the client says the body has: Content-MD5 (base64), or the md5= entry of x-goog-hash (as GCS
// takes it). "" when neither is sent; nullopt when one is sent but is not a base64 MD5.
std::optional<std::string> declared_md5(const HttpRequest& request) {
  std::string text = request.header("Content-MD5");
  if (text.empty()) {
    const std::string goog = request.header("x-goog-hash");
    for (std::size_t start = 0; start < goog.size();) {
      const auto comma = std::min(goog.find(',', start), goog.size());
      std::string_view entry(goog.data() + start, comma - start);
      while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
      if (entry.size() > 4 && iequals(entry.substr(0, 4), "md5=")) text = std::string(entry.substr(4));
      start = comma + 1;
    }
  }
  if (text.empty()) return std::string();
  auto digest = storage::base64_decode(text);
  if (!digest || digest->size() != kMd5Bytes) return std::nullopt;
  return std::move(*digest);
}

struct Md5ContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// Receives one upload. Until finish() commits, everything lives in a temporary file that the AtomicFile
// removes if the sink is dropped: a body cut short, over the limit or stalled stores nothing.
class UploadSink final : public BodySink {
 public:
  UploadSink(AtomicFile file, std::string name, std::uint64_t max_bytes, std::optional<std::uint64_t> declared_bytes,
             std::string md5)
      : file_(std::move(file)),
        out_(file_.temp_path(), std::ios::binary | std::ios::trunc),
        name_(std::move(name)),
        max_bytes_(max_bytes),
        declared_bytes_(declared_bytes),
        expected_md5_(std::move(md5)) {
    if (!expected_md5_.empty()) {
      md5_.reset(EVP_MD_CTX_new());
      if (md5_ && EVP_DigestInit_ex(md5_.get(), EVP_md5(), nullptr) != 1) md5_.reset();
    }
  }

  std::optional<HttpResponse> write(std::string_view bytes) override {
    received_ += bytes.size();
    if (received_ > max_bytes_) return too_large(max_bytes_);
    if (md5_) EVP_DigestUpdate(md5_.get(), bytes.data(), bytes.size());
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out_) return failure("write to the temporary file failed");
    return std::nullopt;
  }

  HttpResponse finish() override {
    out_.close();
    if (!out_) return failure("closing the temporary file failed");
    if (declared_bytes_ && *declared_bytes_ != received_) {
      return error_response(400, "the body has " + std::to_string(received_) + " bytes but Content-Length says " +
                                     std::to_string(*declared_bytes_) + "; nothing was stored");
    }
    if (!expected_md5_.empty()) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int size = 0;
      if (!md5_ || EVP_DigestFinal_ex(md5_.get(), digest, &size) != 1) return failure("MD5 unavailable");
      if (std::string_view(reinterpret_cast<const char*>(digest), size) != expected_md5_) {
        return error_response(400, "the body does not match its Content-MD5; nothing was stored");
      }
    }
    if (auto committed = file_.commit(); !committed) return failure(committed.error().message);
    log_json(Severity::kInfo, "object uploaded", {{"fileName", name_}, {"bytes", received_}});
    return json_response(200, {{"success", true}, {"fileName", name_}, {"size", received_}});
  }

  static HttpResponse too_large(std::uint64_t limit) {
    return error_response(413, "upload is over the limit of " + std::to_string(limit) + " bytes");
  }

 private:
  HttpResponse failure(const std::string& detail) const {
    log_json(Severity::kError, "upload failed", {{"fileName", name_}, {"detail", detail}});
    return error_response(502, "storage failure");
  }

  AtomicFile file_;
  std::ofstream out_;
  std::string name_;
  std::uint64_t max_bytes_;
  std::optional<std::uint64_t> declared_bytes_;
  std::string expected_md5_;
  std::unique_ptr<EVP_MD_CTX, Md5ContextFree> md5_;
  std::uint64_t received_ = 0;
};

// Checks the name and the signature; an answer when they do not hold.
std::optional<HttpResponse> refuse(const storage::LocalStorage& local, const HttpRequest& request,
                                   storage::HttpMethod method, const std::string& name) {
  if (auto valid = storage::validate_object_name(name); !valid) {
    return error_response(400, "object name: " + valid.error().message);
  }
  const auto now = std::chrono::system_clock::now();
  const std::string expires = request.query_value("expires");
  const std::string signature = request.query_value("signature");
  const std::string content_type = method == storage::HttpMethod::kPut ? request.header("Content-Type") : "";
  Status verified = local.verify_signed_request(method, name, expires, signature, content_type, now);
  // A PUT URL signed without a content type accepts any.
  if (!verified && !content_type.empty()) {
    verified = local.verify_signed_request(method, name, expires, signature, "", now);
  }
  if (!verified) return error_response(403, "invalid or expired signature");
  return std::nullopt;
}

}  // namespace

HttpResponse SignedFiles::get(const HttpRequest& request) const {
  const std::string name = object_name(request);
  if (auto refused = refuse(local_, request, storage::HttpMethod::kGet, name)) return std::move(*refused);
  auto info = local_.stat(name);
  auto path = local_.object_path(name);
  if (!info || !path) {
    const ApiError error = api_error_from_storage(info ? path.error() : info.error(), "object");
    return error_response(error.status, error.message);
  }
  HttpResponse response;
  response.file = *path;
  response.set_header("Content-Type", info->content_type);
  const std::string last_segment = name.substr(name.rfind('/') + 1);
  if (is_header_safe(last_segment) && last_segment.find('"') == std::string::npos) {  // it goes inside quotes
    response.set_header("Content-Disposition", "attachment; filename=\"" + last_segment + "\"");
  }
  response.set_header("Cache-Control", "private, no-store");
  return response;
}

BodyOpening SignedFiles::put(const HttpRequest& request) const {
  const std::string name = object_name(request);
  if (auto refused = refuse(local_, request, storage::HttpMethod::kPut, name)) return std::move(*refused);
  if (!request.has_body_framing()) return error_response(411, "Content-Length is required");
  const auto length = request.content_length();
  if (length && *length > max_input_bytes_) return UploadSink::too_large(max_input_bytes_);
  auto md5 = declared_md5(request);
  if (!md5) return error_response(400, "Content-MD5 (or x-goog-hash md5=) must be the base64 of a 16-byte MD5");
  auto file = local_.begin_write(name);
  if (!file) {
    const ApiError error = api_error_from_storage(file.error(), "object");
    log_json(Severity::kError, "upload failed", {{"fileName", name}, {"detail", error.detail}});
    return error_response(error.status, error.message);
  }
  return std::make_unique<UploadSink>(std::move(*file), name, max_input_bytes_, length, std::move(*md5));
}

}  // namespace spectrum::server
