#include "server/storage_factory.h"

#include "storage/gcs_storage.h"

namespace spectrum::server {

Expected<StorageBackend> make_storage_backend(const ServerConfig& config) {
  if (!config.gcs.bucket_name.empty()) {
    // The GCS backend's own environment reading supplies its tuning keys (retry policy, metadata host);
    // the keys the service validates come from our config so flags and environment agree.
    storage::GcsOptions options = storage::gcs_options_from_environment();
    options.bucket = config.gcs.bucket_name;
    options.project_id = config.gcs.project_id;
    options.credentials_json = config.gcs.credentials_json;
    options.credentials_path = config.gcs.credentials_file;
    options.emulator_host = config.gcs.emulator_host;
    auto gcs = storage::make_gcs_storage(options);
    if (!gcs) {
      return make_error(gcs.error().code,
                        "cannot use the GCS bucket '" + config.gcs.bucket_name + "': " + gcs.error().message);
    }
    StorageBackend backend;
    backend.storage = std::move(*gcs);
    backend.name = "gcs";
    return backend;
  }
  auto local = storage::LocalStorage::create({config.data_dir, config.signing_secret, config.public_url});
  if (!local) return std::move(local).error();
  StorageBackend backend;
  backend.local = local->get();
  backend.storage = std::move(*local);
  backend.name = "local";
  return backend;
}

}  // namespace spectrum::server
