#include "storage/credentials_crypto.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <array>
#include <utility>

namespace spectrum::storage {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct BioDeleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memory_bio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

PkeyPtr read_private_key(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr read_public_key(std::string_view pem) {
  if (PkeyPtr key = read_private_key(pem)) return key;
  if (BioPtr bio = memory_bio(pem)) {
    if (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)) return PkeyPtr(key);
  }
  return nullptr;
}

class RsaSigner final : public BlobSigner {
 public:
  RsaSigner(std::string client_email, PkeyPtr key) : client_email_(std::move(client_email)), key_(std::move(key)) {}

  [[nodiscard]] const std::string& client_email() const override { return client_email_; }

  Expected<std::string> sign(std::string_view blob) override {
    // A fresh context per call keeps concurrent signing safe; the key itself is only read.
    MdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t length = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(blob.data());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, data, blob.size()) != 1) {
      return make_error(ErrorCode::kInternal, "RSA-SHA256 signing could not start");
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data, blob.size()) !=
        1) {
      return make_error(ErrorCode::kInternal, "RSA-SHA256 signing failed");
    }
    signature.resize(length);
    return signature;
  }

 private:
  std::string client_email_;
  PkeyPtr key_;
};

}  // namespace

std::string sha256_bytes(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return {reinterpret_cast<const char*>(digest.data()), length};
}

std::string sha256_hex(std::string_view data) {
  return hex_encode(sha256_bytes(data));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac.data(), &length);
  return {reinterpret_cast<const char*>(mac.data()), length};
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0x0f]);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Expected<std::string> base64_decode(std::string_view text) {
  std::string normalized(text);
  for (char& c : normalized) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (normalized.size() % 4 != 0) normalized.push_back('=');
  std::string out(3 * normalized.size() / 4, '\0');
  const int written =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(normalized.data()), static_cast<int>(normalized.size()));
  if (written < 0) return make_error(ErrorCode::kInvalidArgument, "not valid base64");
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  std::size_t length = static_cast<std::size_t>(written);
  for (std::size_t i = normalized.size(); i > 0 && normalized[i - 1] == '=' && length > 0; --i) --length;
  out.resize(length);
  return out;
}

Expected<std::unique_ptr<BlobSigner>> make_rsa_signer(std::string client_email, std::string_view private_key_pem) {
  PkeyPtr key = read_private_key(private_key_pem);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    // The message never quotes the key.
    return make_error(ErrorCode::kInvalidArgument, "the service-account private key is not a readable RSA PEM key");
  }
  return std::unique_ptr<BlobSigner>(std::make_unique<RsaSigner>(std::move(client_email), std::move(key)));
}

bool verify_rs256(std::string_view pem, std::string_view data, std::string_view signature) {
  PkeyPtr key = read_public_key(pem);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace spectrum::storage
