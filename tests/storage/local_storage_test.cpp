#include "storage/local_storage.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

namespace spectrum::storage {
namespace {

namespace fs = std::filesystem;

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spectrum-local-storage-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    auto made = LocalStorage::create({dir_ / "data", std::string(48, 'k'), ""});
    ASSERT_TRUE(made.ok()) << made.error().message;
    storage_ = std::move(*made);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_file(const std::string& name, const std::string& content) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  std::unique_ptr<LocalStorage> storage_;
};

TEST_F(LocalStorageTest, UploadStatDownloadRemoveRoundTrip) {
  const std::string content(100000, 'x');
  ASSERT_TRUE(storage_->upload(write_file("in.mp3", content), "a.b/c.song.mp3", "audio/mpeg").ok());
  EXPECT_TRUE(fs::is_regular_file(dir_ / "data" / "objects" / "a.b" / "c.song.mp3"));

  auto info = storage_->stat("a.b/c.song.mp3");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->size_bytes, content.size());
  EXPECT_EQ(info->content_type, "audio/mpeg");

  const fs::path copy = dir_ / "copy.mp3";
  ASSERT_TRUE(storage_->download("a.b/c.song.mp3", copy).ok());
  EXPECT_EQ(read_file(copy), content);

  ASSERT_TRUE(storage_->remove("a.b/c.song.mp3").ok());
  auto gone = storage_->stat("a.b/c.song.mp3");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(LocalStorageTest, MissingObjectsAndFoldersAreNotFound) {
  EXPECT_EQ(storage_->stat("nope.wav").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(storage_->download("nope.wav", dir_ / "x").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  ASSERT_TRUE(storage_->upload(write_file("f", "1"), "folder/inner.wav", "audio/wav").ok());
  EXPECT_EQ(storage_->stat("folder").error().code, ErrorCode::kNotFound);
}

TEST_F(LocalStorageTest, OverwriteLeavesNoTemporaryFilesBehind) {
  ASSERT_TRUE(storage_->upload(write_file("one", "first"), "x.wav", "audio/wav").ok());
  ASSERT_TRUE(storage_->upload(write_file("two", "second"), "x.wav", "audio/wav").ok());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_ / "data" / "objects")) names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"x.wav"});
  EXPECT_EQ(read_file(dir_ / "data" / "objects" / "x.wav"), "second");
}

TEST_F(LocalStorageTest, HostileNamesNeverTouchTheDisk) {
  const fs::path source = write_file("evil", "pwned");
  for (const std::string& name :
       std::vector<std::string>{"../escape.wav", "/tmp/abs.wav", "a/../../escape.wav", "a\\..\\b"}) {
    const Status up = storage_->upload(source, name, "audio/wav");
    ASSERT_FALSE(up.ok()) << name;
    EXPECT_EQ(up.error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_EQ(storage_->stat(name).error().code, ErrorCode::kInvalidArgument) << name;
    EXPECT_FALSE(storage_->sign_url(name, HttpMethod::kGet, std::chrono::seconds(60), "").ok()) << name;
  }
  EXPECT_FALSE(fs::exists(dir_ / "data" / "escape.wav"));
  EXPECT_FALSE(fs::exists(dir_ / "escape.wav"));
  EXPECT_FALSE(fs::exists("/tmp/abs.wav"));
}

TEST_F(LocalStorageTest, SignedUrlsVerifyAndExpire) {
  const auto before = std::chrono::system_clock::now();
  auto url = storage_->sign_url("a b.wav", HttpMethod::kGet, std::chrono::hours(24), "");
  ASSERT_TRUE(url.ok());
  const double ttl_s = std::chrono::duration<double>(url->expires_at - before).count();
  EXPECT_NEAR(ttl_s, 86400.0, 2.0);
  ASSERT_EQ(url->url.rfind("/files/a%20b.wav?expires=", 0), 0u) << url->url;

  const std::string query = url->url.substr(url->url.find('?') + 1);
  const std::string expires = query.substr(8, query.find('&') - 8);
  const std::string signature = query.substr(query.find("signature=") + 10);
  const auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(storage_->verify_signed_request(HttpMethod::kGet, "a b.wav", expires, signature, "", now).ok());
  EXPECT_FALSE(storage_->verify_signed_request(HttpMethod::kPut, "a b.wav", expires, signature, "", now).ok());
  EXPECT_FALSE(
      storage_->verify_signed_request(HttpMethod::kGet, "a b.wav", expires, signature, "", now + std::chrono::hours(25))
          .ok());
}

TEST_F(LocalStorageTest, PublicBaseUrlPrefixesSignedUrls) {
  auto made = LocalStorage::create({dir_ / "data2", std::string(48, 'k'), "https://example.test/"});
  ASSERT_TRUE(made.ok());
  auto url = (*made)->sign_url("x.wav", HttpMethod::kPut, std::chrono::seconds(900), "audio/wav");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->url.rfind("https://example.test/files/x.wav?expires=", 0), 0u) << url->url;
}

TEST_F(LocalStorageTest, SigningKeyIsKeptOutsideTheObjectRoot) {
  auto made = LocalStorage::create({dir_ / "data3", "", ""});
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(fs::exists(dir_ / "data3" / "signing-key"));
  EXPECT_EQ(storage_->stat("../signing-key").error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(LocalStorage::create({dir_ / "data4", "too-short", ""}).ok());
}

}  // namespace
}  // namespace spectrum::storage
