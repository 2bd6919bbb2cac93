// spectrum-master: one executable, with a subcommand per job.
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Spectrum: automatic music mastering (engine, CLI and HTTP service)", "spectrum-master"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "spectrum-master 0.1.0");
  int exit_code = spectrum::cli::kExitOk;
  spectrum::cli::register_master_commands(app, exit_code);
  spectrum::cli::register_serve_command(app, exit_code);
  spectrum::cli::register_signurl_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? spectrum::cli::kExitOk : spectrum::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "error: internal error: " << e.what() << "\n";
    return spectrum::cli::kExitInternal;
  }
  return exit_code;
}
