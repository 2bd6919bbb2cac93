#include "storage/url_signing_local.h"

#include "storage/percent_encoding.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

namespace spectrum::storage {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

const std::string kSecret(40, 's');

system_clock::time_point at(std::int64_t unix_s) {
  return system_clock::time_point(seconds(unix_s));
}

TEST(LocalUrlSigner, SignatureIsHmacSha256OverMethodObjectExpiryAndType) {
  // Reference value computed independently:
  // printf 'GET\na/b.wav\n1700000000\n' | openssl dgst -sha256 -hmac <40 x 's'>
  LocalUrlSigner signer(kSecret);
  EXPECT_EQ(signer.signature(HttpMethod::kGet, "a/b.wav", 1700000000, ""),
            "43f7c49eaf0fdcd258f9dc4cc08e74ad13153b527adadfac1d06ba038902b1d5");
}

TEST(LocalUrlSigner, VerifiesItsOwnUrlsUntilTheyExpire) {
  LocalUrlSigner signer(kSecret);
  const std::string sig = signer.signature(HttpMethod::kPut, "x.wav", 1000, "audio/wav");
  EXPECT_TRUE(signer.verify(HttpMethod::kPut, "x.wav", "1000", sig, "audio/wav", at(999)).ok());
  EXPECT_TRUE(signer.verify(HttpMethod::kPut, "x.wav", "1000", sig, "audio/wav", at(1000)).ok());
  const Status expired = signer.verify(HttpMethod::kPut, "x.wav", "1000", sig, "audio/wav", at(1001));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kPermissionDenied);
}

TEST(LocalUrlSigner, RejectsAnyChangeToWhatWasSigned) {
  LocalUrlSigner signer(kSecret);
  const std::string sig = signer.signature(HttpMethod::kPut, "x.wav", 5000, "audio/wav");
  const auto now = at(10);
  EXPECT_FALSE(signer.verify(HttpMethod::kGet, "x.wav", "5000", sig, "audio/wav", now).ok());   // method
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "y.wav", "5000", sig, "audio/wav", now).ok());   // object
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "x.wav", "5001", sig, "audio/wav", now).ok());   // expiry
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "x.wav", "5000", sig, "audio/mpeg", now).ok());  // type
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "x.wav", "5000x", sig, "audio/wav", now).ok());  // junk expiry
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "x.wav", "", sig, "audio/wav", now).ok());
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "x.wav", "5000", sig.substr(1), "audio/wav", now).ok());
  std::string flipped = sig;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(signer.verify(HttpMethod::kPut, "x.wav", "5000", flipped, "audio/wav", now).ok());
  LocalUrlSigner other(std::string(40, 't'));
  EXPECT_FALSE(other.verify(HttpMethod::kPut, "x.wav", "5000", sig, "audio/wav", now).ok());  // secret
}

TEST(LocalUrlSigner, SignedPathEncodesTheObjectName) {
  LocalUrlSigner signer(kSecret);
  const std::string path = signer.signed_path(HttpMethod::kGet, "dir/a b&c?.wav", 42, "");
  EXPECT_EQ(path.rfind("/files/dir/a%20b%26c%3F.wav?expires=42&signature=", 0), 0u) << path;
  EXPECT_EQ(percent_encode_object_name("\xC3\xA9/~x-y_z.1"), "%C3%A9/~x-y_z.1");
}

TEST(SigningSecret, IsCreatedOnceWithMode0600AndThenReused) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("spectrum-key-test-" + std::to_string(std::random_device{}()));
  const auto key = dir / "signing-key";
  auto first = load_or_create_signing_secret(key);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->size(), 64u);
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto second = load_or_create_signing_secret(key);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  std::ofstream(key, std::ios::trunc) << "short\n";
  EXPECT_FALSE(load_or_create_signing_secret(key).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spectrum::storage

namespace spectrum::storage {
namespace {

TEST(PercentDecode, InvertsEncodeAndRefusesBrokenEscapes) {
  const std::string name = "my uploads/été + mix (1)%.wav";
  EXPECT_EQ(percent_decode(percent_encode(name, true)).value_or("<none>"), name);
  EXPECT_EQ(percent_decode("a%2Fb%2fc+d").value_or("<none>"), "a/b/c+d") << "'+' is not a space in a path";
  EXPECT_FALSE(percent_decode("50%").has_value());
  EXPECT_FALSE(percent_decode("%4").has_value());
  EXPECT_FALSE(percent_decode("%zz").has_value());
}

}  // namespace
}  // namespace spectrum::storage
