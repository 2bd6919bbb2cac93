#include "cli/commands.h"

namespace spectrum::cli {
void register_master_commands(CLI::App& /*app*/, int& /*exit_code*/) {}
}  // namespace spectrum::cli
