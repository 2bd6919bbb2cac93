// spectrum-master: one executable, with a subcommand per job.
#include <cstdio>
#include <exception>

#include "cli/commands.h"

namespace {

int run(int argc, char** argv) {
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
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Setting up the App can throw too (std::bad_alloc, CLI11 construction errors), so the whole run sits inside
  // the one catch; the report uses fputs because iostreams may throw themselves.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fputs("error: internal error: ", stderr);
    std::fputs(e.what(), stderr);
    std::fputs("\n", stderr);
  } catch (...) {
    std::fputs("error: internal error: unknown exception\n", stderr);
  }
  return spectrum::cli::kExitInternal;
}
