#include "common/utc_time.h"

#include <array>
#include <ctime>

namespace spectrum {
namespace {

std::tm utc_calendar(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);  // the thread-safe form; std::gmtime shares one static buffer
  return utc;
}

}  // namespace

std::string iso8601_utc(std::chrono::system_clock::time_point time) {
  const std::tm utc = utc_calendar(time);
  std::array<char, 32> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {text.data(), length};
}

std::string iso8601_basic_utc(std::chrono::system_clock::time_point time) {
  const std::tm utc = utc_calendar(time);
  std::array<char, 32> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%Y%m%dT%H%M%SZ", &utc);
  return {text.data(), length};
}

}  // namespace spectrum
