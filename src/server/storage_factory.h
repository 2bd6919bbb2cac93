// The one place where the storage backend is chosen: GCS when GOOGLE_CLOUD_BUCKET_NAME is set,
// otherwise local files under the data directory.
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "storage/local_storage.h"
#include "storage/storage.h"

namespace spectrum::server {

struct StorageBackend {
  std::unique_ptr<storage::Storage> storage;
  // Set for the local backend only: the HTTP layer serves its signed /files/ URLs.
  storage::LocalStorage* local = nullptr;
  const char* name = "local";
};

Expected<StorageBackend> make_storage_backend(const ServerConfig& config);

}  // namespace spectrum::server
