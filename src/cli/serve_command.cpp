// `spectrum-master serve`: every configuration key is a flag here and an environment variable; the
// server's config loader applies the precedence (default, environment, flag) and validates once.
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "server/config.h"
#include "server/server.h"

namespace spectrum::cli {

void register_serve_command(CLI::App& app, int& exit_code) {
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the HTTP service (local storage under ./data unless GOOGLE_CLOUD_BUCKET_NAME is set)");
  // Values are kept as text: the one parser in server/config.cpp checks them, whatever their source.
  auto values = std::make_shared<std::map<std::string, std::string>>();
  auto options = std::make_shared<std::map<std::string, CLI::Option*>>();
  for (const auto& key : server::config_keys()) {
    if (key.flag.empty()) continue;
    std::string help = key.help + " [env " + key.env + ", default " + key.default_text + "]";
    (*options)[key.flag] = serve->add_option("--" + key.flag, (*values)[key.flag], help);
  }
  serve->callback([values, options, &exit_code] {
    std::map<std::string, std::string> given;
    for (const auto& [flag, option] : *options)
      if (option->count() > 0) given[flag] = (*values)[flag];
    auto config = server::load_config(server::process_env, given);
    if (!config) {
      std::cerr << "spectrum-master serve: " << config.error().message << "\n";
      exit_code = kExitUsage;
      return;
    }
    exit_code = server::run_server(*config);
  });
}

}  // namespace spectrum::cli
