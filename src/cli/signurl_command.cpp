#include "cli/commands.h"

namespace spectrum::cli {
// Placeholder: the GCS signer registers `signurl` here.
void register_signurl_command(CLI::App& /*app*/, int& /*exit_code*/) {}
}  // namespace spectrum::cli
