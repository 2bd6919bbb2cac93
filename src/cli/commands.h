// Each subcommand registers itself on the one spectrum-master executable.
#pragma once

#include <CLI/CLI.hpp>

#include "common/status.h"

namespace spectrum::cli {

// Documented exit codes (README "Exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,         // bad usage or invalid settings
  kExitInputMissing = 3,  // input file or object not found / unreadable
  kExitBadInput = 4,      // not decodable audio, unsupported channels or format
  kExitOutput = 5,        // output could not be written
  kExitTooLarge = 6,      // over a size or duration limit
  kExitUnavailable = 7,   // a remote service is unavailable
  kExitInternal = 70,     // a bug (sysexits EX_SOFTWARE)
  kExitInterrupted = 130,
};

int exit_code_for(const Error& error) noexcept;

// Registers the subcommand; `exit_code` receives the command's result when it runs.
void register_master_commands(CLI::App& app, int& exit_code);  // master, analyze, (eq-curves)
void register_serve_command(CLI::App& app, int& exit_code);    // serve
void register_signurl_command(CLI::App& app, int& exit_code);  // signurl

}  // namespace spectrum::cli
