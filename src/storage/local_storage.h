// The embedded default backend: objects are files under <data-dir>/objects, written atomically, and
// signed URLs point at this service's own /files/ route. The signing secret lives outside the object
// root (<data-dir>/signing-key) so no object name can ever read it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/atomic_file.h"
#include "common/status.h"
#include "storage/storage.h"
#include "storage/url_signing_local.h"

namespace spectrum::storage {

struct LocalStorageOptions {
  std::filesystem::path data_dir;  // created if missing
  // Empty: read or create <data_dir>/signing-key. Otherwise at least kMinSigningSecretBytes bytes.
  std::string signing_secret;
  // Prefix of signed URLs, e.g. "https://master.example.com". Empty: URLs are root-relative ("/files/...")
  // and the HTTP layer completes them from the request it is answering.
  std::string public_base_url;
};

class LocalStorage final : public Storage {
 public:
  static Expected<std::unique_ptr<LocalStorage>> create(const LocalStorageOptions& options);

  Expected<ObjectInfo> stat(std::string_view name) override;
  Status download(std::string_view name, const std::filesystem::path& destination) override;
  Status upload(const std::filesystem::path& source, std::string_view name, std::string_view content_type) override;
  Status remove(std::string_view name) override;
  Expected<SignedUrl> sign_url(std::string_view name, HttpMethod method, std::chrono::seconds ttl,
                               std::string_view content_type) override;

  // For the route that serves signed URLs. The file behind a valid name (which may not exist yet).
  [[nodiscard]] Expected<std::filesystem::path> object_path(std::string_view name) const;
  // Starts an atomic write of the object, creating its folders; the caller fills temp_path() and commits.
  [[nodiscard]] Expected<AtomicFile> begin_write(std::string_view name) const;
  // kInvalidArgument for a bad name, kPermissionDenied for a bad or expired signature.
  [[nodiscard]] Status verify_signed_request(HttpMethod method, std::string_view name, std::string_view expires,
                                             std::string_view signature, std::string_view content_type,
                                             std::chrono::system_clock::time_point now) const;

  [[nodiscard]] const std::filesystem::path& objects_root() const noexcept { return root_; }

 private:
  LocalStorage(std::filesystem::path root, LocalUrlSigner signer, std::string public_base_url)
      : root_(std::move(root)), signer_(std::move(signer)), public_base_url_(std::move(public_base_url)) {}

  std::filesystem::path root_;
  LocalUrlSigner signer_;
  std::string public_base_url_;
};

}  // namespace spectrum::storage
