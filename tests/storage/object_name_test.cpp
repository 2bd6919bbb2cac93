#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/storage.h"

namespace spectrum::storage {
namespace {

TEST(ObjectName, AcceptsOrdinaryNames) {
  for (const std::string& name : std::vector<std::string>{
           "a.wav", "uploads/2024/song.mp3", "a.b/c.song.mp3", "x y (final).flac", "\xC3\xA9t\xC3\xA9.wav", ".hidden",
           "a..b", "...", std::string(200, 'n'),
           // 1024 bytes in all, in segments of 200
           std::string(200, 'a') + "/" + std::string(200, 'b') + "/" + std::string(200, 'c') + "/" +
               std::string(200, 'd') + "/" + std::string(200, 'e') + "/" + std::string(19, 'f')}) {
    EXPECT_TRUE(validate_object_name(name).ok()) << name;
  }
}

struct Hostile {
  std::string name;
  std::string expected_words;  // part of the message, so the client learns what is wrong
};

TEST(ObjectName, RejectsEveryHostileFormWithAMessageNamingIt) {
  const Hostile cases[] = {
      {"", "empty"},
      {std::string(1025, 'n'), "1024"},
      {"uploads/" + std::string(201, 's'), "segment"},
      {"/etc/passwd", "relative"},
      {"../secret", "'..'"},
      {"a/../../b", "'..'"},
      {"a/..", "'..'"},
      {"./a", "'.'"},
      {"a//b", "empty segments"},
      {"a/", "empty segments"},
      {"a\\b", "backslash"},
      {std::string("a\0b", 3), "NUL"},
      {"a\nb", "control"},
      {"a\x1b[31m", "control"},
      {"a\x7f", "control"},
      {"\xC3", "UTF-8"},
      {"\xC0\xAF", "UTF-8"},      // overlong '/'
      {"\xED\xA0\x80", "UTF-8"},  // surrogate
  };
  for (const auto& c : cases) {
    const Status status = validate_object_name(c.name);
    ASSERT_FALSE(status.ok()) << c.name;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(status.error().message.find(c.expected_words), std::string::npos) << status.error().message;
  }
}

}  // namespace
}  // namespace spectrum::storage
