// Wall-clock times as ISO 8601 UTC text, to the second: the API's timestamps and the GCS signer's dates.
#pragma once

#include <chrono>
#include <string>

namespace spectrum {

std::string iso8601_utc(std::chrono::system_clock::time_point time);        // "2019-02-01T09:00:00Z"
std::string iso8601_basic_utc(std::chrono::system_clock::time_point time);  // "20190201T090000Z"

}  // namespace spectrum
