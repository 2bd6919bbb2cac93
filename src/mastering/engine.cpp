#include "mastering/engine.h"

namespace spectrum::mastering {

// Placeholder until the chain lands; returns a clear error rather than a fake result.
Expected<MasterReport> master_file(const MasterJob& /*job*/) {
  return make_error(ErrorCode::kInternal, "mastering engine not implemented yet");
}

Expected<AnalysisReport> analyze_file(const std::filesystem::path& /*path*/, const Limits& /*limits*/) {
  return make_error(ErrorCode::kInternal, "analysis not implemented yet");
}

Expected<OutputFormat> resolve_output_format(const MasterJob& /*job*/) {
  return make_error(ErrorCode::kInternal, "not implemented yet");
}

}  // namespace spectrum::mastering
