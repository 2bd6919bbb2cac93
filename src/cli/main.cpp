// spectrum-master: one executable, with a subcommand per job.
#include <malloc.h>

#include <cstdio>
#include <exception>

#include "cli/commands.h"

namespace {

// Every allocation of 128 KiB or more (decoded tracks, the limiter's side chain, codec buffers) is its own
// mapping, returned to the system when freed. glibc otherwise raises this threshold after the first large
// free, and the large buffers of later jobs land in the per-thread heaps, which keep them: the service
// peaked at 1410 MiB in bench/server (two job slots) against 252 MiB with the threshold fixed.
constexpr int kMmapThresholdBytes = 128 * 1024;

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
  mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);  // also turns glibc's dynamic threshold off
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
