// Structured logs: one JSON object per line on stdout, in the shape Cloud Logging reads
// (severity, message, time, plus our fields such as jobId and timings).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace spectrum::server {

enum class Severity { kDebug, kInfo, kWarning, kError };

// Sets the lowest severity written ("debug", "info", "warning", "error"). Not thread-safe: call at start-up.
void set_log_level(std::string_view level);

// Thread-safe; never throws (invalid UTF-8 from hostile input is replaced, not rejected).
void log_json(Severity severity, std::string_view message,
              const nlohmann::json& fields = nlohmann::json::object()) noexcept;

}  // namespace spectrum::server
