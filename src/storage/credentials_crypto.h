// The few cryptographic primitives the storage backends need, over OpenSSL 3: SHA-256, HMAC-SHA256, hex and
// base64 codecs, and RSASSA-PKCS1-v1_5 with SHA-256 (the "RS256" of JWTs and the "GOOG4-RSA-SHA256" of
// V4 signed URLs are the same operation).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace spectrum::storage {

std::string sha256_bytes(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hex_encode(std::string_view bytes);                        // lower-case
std::string base64_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);  // unpadded, as JWTs want
Expected<std::string> base64_decode(std::string_view text);

// Something that can sign bytes as a service account: a local private key, or IAM's signBlob.
class BlobSigner {
 public:
  virtual ~BlobSigner() = default;
  // The service account's e-mail, which names the signer in credentials scopes and JWT issuers.
  [[nodiscard]] virtual const std::string& client_email() const = 0;
  // Raw RSASSA-PKCS1-v1_5/SHA-256 signature bytes. Thread-safe.
  virtual Expected<std::string> sign(std::string_view blob) = 0;
};

// Signs locally with a PEM private key (PKCS#8, as service-account keys carry it).
Expected<std::unique_ptr<BlobSigner>> make_rsa_signer(std::string client_email, std::string_view private_key_pem);

// Verifies an RS256 signature against a PEM public key or certificate, or against the public half of a
// PEM private key. Used by tests that act as the token endpoint.
bool verify_rs256(std::string_view pem, std::string_view data, std::string_view signature);

}  // namespace spectrum::storage
