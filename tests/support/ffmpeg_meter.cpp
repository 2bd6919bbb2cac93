#include "support/ffmpeg_meter.h"

#include <cstdio>
#include <limits>
#include <regex>
#include <string>

namespace spectrum::test {
namespace {

// Single-quoted for /bin/sh: ' becomes '\''.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += (ch == '\'') ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

bool find_number(const std::string& text, const std::regex& pattern, double& value) {
  std::smatch m;
  if (!std::regex_search(text, m, pattern)) return false;
  const std::string s = m[1].str();
  value = (s == "-inf") ? -std::numeric_limits<double>::infinity() : std::stod(s);
  return true;
}

}  // namespace

Expected<FfmpegLoudness> measure_with_ffmpeg(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return make_error(ErrorCode::kNotFound, "no such file: " + path.string());
  const std::string command = "ffmpeg -hide_banner -nostats -nostdin -i " + shell_quote(path.string()) +
                              " -af ebur128=peak=true -f null - 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return make_error(ErrorCode::kInternal, "cannot run ffmpeg");
  std::string output;
  char chunk[4096];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  const int status = pclose(pipe);
  if (status != 0)
    return make_error(ErrorCode::kInternal,
                      "ffmpeg failed: " + output.substr(output.size() > 500 ? output.size() - 500 : 0));

  const auto summary_at = output.rfind("Summary:");
  if (summary_at == std::string::npos) return make_error(ErrorCode::kInternal, "ffmpeg printed no ebur128 summary");
  const std::string summary = output.substr(summary_at);
  FfmpegLoudness result;
  const bool ok =
      find_number(summary, std::regex(R"(I:\s+(-?[0-9.]+) LUFS)"), result.integrated_lufs) &&
      find_number(summary, std::regex(R"(LRA:\s+(-?[0-9.]+) LU)"), result.loudness_range_lu) &&
      find_number(summary, std::regex(R"(True peak:\s+Peak:\s+(-inf|-?[0-9.]+) dBFS)"), result.true_peak_dbtp);
  if (!ok) return make_error(ErrorCode::kInternal, "cannot parse ffmpeg summary: " + summary);
  return result;
}

}  // namespace spectrum::test
