#include "storage/local_storage.h"

#include <cerrno>
#include <system_error>

#include "storage/content_type.h"

namespace spectrum::storage {
namespace fs = std::filesystem;
namespace {

Error io_error(std::string_view what, std::string_view name, const std::error_code& ec) {
  return make_error(ErrorCode::kIoError, std::string(what) + " '" + std::string(name) + "': " + ec.message());
}

bool is_absent(const std::error_code& ec) {
  return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
}

}  // namespace

Expected<std::unique_ptr<LocalStorage>> LocalStorage::create(const LocalStorageOptions& options) {
  if (options.data_dir.empty()) return make_error(ErrorCode::kInvalidArgument, "data directory must not be empty");
  std::error_code ec;
  const fs::path root = options.data_dir / "objects";
  fs::create_directories(root, ec);
  if (ec) {
    return make_error(ErrorCode::kIoError, "cannot create the object directory " + root.string() + ": " + ec.message());
  }
  std::string secret = options.signing_secret;
  if (secret.empty()) {
    auto loaded = load_or_create_signing_secret(options.data_dir / "signing-key");
    if (!loaded) return std::move(loaded).error();
    secret = std::move(*loaded);
  } else if (secret.size() < kMinSigningSecretBytes) {
    return make_error(ErrorCode::kInvalidArgument, "the signing secret must be at least 32 bytes long");
  }
  std::string base = options.public_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<LocalStorage>(
      new LocalStorage(fs::absolute(root), LocalUrlSigner(std::move(secret)), std::move(base)));
}

Expected<fs::path> LocalStorage::object_path(std::string_view name) const {
  SPECTRUM_TRY(validate_object_name(name));
  // Validated names have no '..', no leading '/' and no empty segment, so the join stays under root_.
  return root_ / fs::path(std::string(name));
}

Expected<ObjectInfo> LocalStorage::stat(std::string_view name) {
  auto path = object_path(name);
  if (!path) return std::move(path).error();
  std::error_code ec;
  const fs::file_status status = fs::status(*path, ec);
  if (ec) {
    if (is_absent(ec)) return make_error(ErrorCode::kNotFound, "no such object: " + std::string(name));
    return io_error("cannot stat object", name, ec);
  }
  // A folder made by a deeper name ("a" for "a/b") is not an object, as in a bucket.
  if (!fs::is_regular_file(status)) return make_error(ErrorCode::kNotFound, "no such object: " + std::string(name));
  const auto size = fs::file_size(*path, ec);
  if (ec) return io_error("cannot stat object", name, ec);
  return ObjectInfo{static_cast<std::uint64_t>(size), std::string(content_type_for_name(name))};
}

Status LocalStorage::download(std::string_view name, const fs::path& destination) {
  auto info = stat(name);
  if (!info) return std::move(info).error();
  auto file = AtomicFile::create(destination);
  if (!file) return std::move(file).error();
  std::error_code ec;
  fs::copy_file(root_ / fs::path(std::string(name)), file->temp_path(), fs::copy_options::overwrite_existing, ec);
  if (ec) {
    if (is_absent(ec)) return make_error(ErrorCode::kNotFound, "no such object: " + std::string(name));
    return io_error("cannot read object", name, ec);
  }
  return file->commit();
}

Expected<AtomicFile> LocalStorage::begin_write(std::string_view name) const {
  auto path = object_path(name);
  if (!path) return std::move(path).error();
  std::error_code ec;
  fs::create_directories(path->parent_path(), ec);
  if (ec) return io_error("cannot create the folder of object", name, ec);
  auto file = AtomicFile::create(*path);
  if (!file) return make_error(ErrorCode::kIoError, file.error().message);
  return file;
}

Status LocalStorage::upload(const fs::path& source, std::string_view name, std::string_view /*content_type*/) {
  auto file = begin_write(name);
  if (!file) return std::move(file).error();
  std::error_code ec;
  fs::copy_file(source, file->temp_path(), fs::copy_options::overwrite_existing, ec);
  if (ec) return make_error(ErrorCode::kIoError, "cannot copy " + source.string() + ": " + ec.message());
  auto committed = file->commit();
  if (!committed)
    return make_error(ErrorCode::kIoError,
                      "cannot store object '" + std::string(name) + "': " + committed.error().message);
  return {};
}

Status LocalStorage::remove(std::string_view name) {
  auto path = object_path(name);
  if (!path) return std::move(path).error();
  std::error_code ec;
  if (!fs::is_regular_file(*path, ec)) return make_error(ErrorCode::kNotFound, "no such object: " + std::string(name));
  if (!fs::remove(*path, ec) && ec) return io_error("cannot remove object", name, ec);
  return {};
}

Expected<SignedUrl> LocalStorage::sign_url(std::string_view name, HttpMethod method, std::chrono::seconds ttl,
                                           std::string_view content_type) {
  SPECTRUM_TRY(validate_object_name(name));
  if (ttl.count() <= 0) return make_error(ErrorCode::kInvalidArgument, "signed URL lifetime must be positive");
  const auto now = std::chrono::system_clock::now();
  const auto expires_at = std::chrono::time_point_cast<std::chrono::seconds>(now) + ttl;
  const std::int64_t expires_unix_s = expires_at.time_since_epoch().count();
  const std::string_view signed_type = method == HttpMethod::kPut ? content_type : std::string_view{};
  return SignedUrl{public_base_url_ + signer_.signed_path(method, name, expires_unix_s, signed_type), expires_at};
}

Status LocalStorage::verify_signed_request(HttpMethod method, std::string_view name, std::string_view expires,
                                           std::string_view signature, std::string_view content_type,
                                           std::chrono::system_clock::time_point now) const {
  SPECTRUM_TRY(validate_object_name(name));
  return signer_.verify(method, name, expires, signature, content_type, now);
}

}  // namespace spectrum::storage
