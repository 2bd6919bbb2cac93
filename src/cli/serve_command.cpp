#include "cli/commands.h"

namespace spectrum::cli {
// Placeholder: the HTTP service registers `serve` here.
void register_serve_command(CLI::App& /*app*/, int& /*exit_code*/) {}
}  // namespace spectrum::cli
