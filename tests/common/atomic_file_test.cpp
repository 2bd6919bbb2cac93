#include "common/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace spectrum {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spectrum_atomic_file_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  static std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // Entries in the test directory (destination plus any leftover temporaries).
  std::size_t entry_count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }

  fs::path dir_;
};

TEST_F(AtomicFileTest, TempFileIsHiddenBesideTheDestination) {
  const fs::path dest = dir_ / "out.wav";
  auto file = AtomicFile::create(dest);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->temp_path().parent_path(), dir_);
  const std::string name = file->temp_path().filename().string();
  EXPECT_EQ(name.rfind(".out.wav.tmp-", 0), 0U) << name;
  EXPECT_EQ(name.size(), std::string(".out.wav.tmp-XXXXXX").size());
  EXPECT_TRUE(fs::exists(file->temp_path()));
  EXPECT_FALSE(fs::exists(dest));
}

TEST_F(AtomicFileTest, DestinationAbsentUntilCommit) {
  const fs::path dest = dir_ / "out.txt";
  auto file = AtomicFile::create(dest);
  ASSERT_TRUE(file.ok()) << file.error().message;
  write_text(file->temp_path(), "complete content");
  EXPECT_FALSE(fs::exists(dest));
  const fs::path temp = file->temp_path();
  ASSERT_TRUE(file->commit().ok());
  EXPECT_TRUE(file->committed());
  EXPECT_EQ(read_text(dest), "complete content");
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(entry_count(), 1U);
}

TEST_F(AtomicFileTest, UncommittedTempIsRemovedOnDestruction) {
  const fs::path dest = dir_ / "out.txt";
  fs::path temp;
  {
    auto file = AtomicFile::create(dest);
    ASSERT_TRUE(file.ok());
    temp = file->temp_path();
    write_text(temp, "partial");
    EXPECT_TRUE(fs::exists(temp));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_EQ(entry_count(), 0U);
}

TEST_F(AtomicFileTest, CommitReplacesExistingFileWholly) {
  const fs::path dest = dir_ / "out.txt";
  write_text(dest, "old content that is longer than the new one");
  ::chmod(dest.c_str(), 0640);
  auto file = AtomicFile::create(dest);
  ASSERT_TRUE(file.ok());
  write_text(file->temp_path(), "new");
  // Before commit the old file is untouched.
  EXPECT_EQ(read_text(dest), "old content that is longer than the new one");
  struct stat before {};
  ASSERT_EQ(::stat(dest.c_str(), &before), 0);
  ASSERT_TRUE(file->commit().ok());
  EXPECT_EQ(read_text(dest), "new");
  struct stat after {};
  ASSERT_EQ(::stat(dest.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "replaced by rename, not rewritten in place";
  EXPECT_EQ(after.st_mode & 07777, 0640U) << "keeps the mode of the file it replaces";
  EXPECT_EQ(entry_count(), 1U);
}

TEST_F(AtomicFileTest, NewFileGetsUmaskMode) {
  const mode_t old_mask = ::umask(027);
  const fs::path dest = dir_ / "fresh.txt";
  {
    auto file = AtomicFile::create(dest);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(file->commit().ok());
  }
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640U);
}

TEST_F(AtomicFileTest, MoveTransfersOwnership) {
  const fs::path dest = dir_ / "out.txt";
  auto created = AtomicFile::create(dest);
  ASSERT_TRUE(created.ok());
  AtomicFile moved = std::move(created).value();
  const fs::path temp = moved.temp_path();
  write_text(temp, "moved");
  {
    AtomicFile target = std::move(moved);
    EXPECT_TRUE(fs::exists(temp)) << "the moved-from object must not delete the file";
    ASSERT_TRUE(target.commit().ok());
  }
  EXPECT_EQ(read_text(dest), "moved");
  EXPECT_EQ(entry_count(), 1U);
}

TEST_F(AtomicFileTest, SecondCommitIsAnError) {
  auto file = AtomicFile::create(dir_ / "out.txt");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->commit().ok());
  const Status again = file->commit();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kInternal);
}

TEST_F(AtomicFileTest, MissingDirectoryIsNotFound) {
  auto file = AtomicFile::create(dir_ / "no_such_dir" / "out.txt");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_NE(file.error().message.find("out.txt"), std::string::npos) << file.error().message;
}

TEST_F(AtomicFileTest, PathWithoutFileNameIsInvalid) {
  auto file = AtomicFile::create(dir_ / "");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace spectrum
