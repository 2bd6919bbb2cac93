#include "server/config.h"

#include <gtest/gtest.h>

namespace spectrum::server {
namespace {

EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsMatchTheDocumentation) {
  auto config = load_config(env_of({}), {});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->port, 8080);
  EXPECT_EQ(config->host, "0.0.0.0");
  EXPECT_EQ(config->data_dir, "data");
  EXPECT_GE(config->max_jobs, 1);
  EXPECT_EQ(config->max_queue, 4);
  EXPECT_EQ(config->http_threads, config->max_jobs + config->max_queue + 8);
  EXPECT_EQ(config->max_body_bytes, 65536u);
  EXPECT_EQ(config->max_input_bytes, 256u * 1024 * 1024);
  EXPECT_DOUBLE_EQ(config->max_duration_s, 1200.0);
  EXPECT_DOUBLE_EQ(config->rate_limit_per_minute, 120.0);
  EXPECT_DOUBLE_EQ(config->rate_limit_burst, 30.0);
  EXPECT_DOUBLE_EQ(config->shutdown_grace_s, 8.0);  // the whole drain, inside Cloud Run's 10 s
  EXPECT_DOUBLE_EQ(config->header_timeout_s, 10.0);
  EXPECT_DOUBLE_EQ(config->idle_timeout_s, 5.0);
  EXPECT_DOUBLE_EQ(config->body_timeout_s, 30.0);
  EXPECT_EQ(config->max_connections, 1000);
  EXPECT_EQ(config->max_connections_per_address, 256);
  // The byte limit admits the duration limit's worth of 48 kHz 16-bit stereo WAV.
  EXPECT_GE(static_cast<double>(config->max_input_bytes), config->max_duration_s * 48000 * 2 * 2 + 44);
  EXPECT_EQ(config->download_url_ttl_s, 86400);
  EXPECT_FALSE(config->allowed_origins.has_value());
  EXPECT_TRUE(config->api_token.empty());
  EXPECT_EQ(config->trusted_proxy_hops, 0);
}

TEST(Config, EnvironmentIsReadAndFlagsOverrideIt) {
  auto from_env = load_config(env_of({{"PORT", "9000"}, {"SPECTRUM_MAX_JOBS", "3"}}), {});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->port, 9000);
  EXPECT_EQ(from_env->max_jobs, 3);

  auto overridden = load_config(env_of({{"PORT", "9000"}}), {{"port", "9100"}});
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->port, 9100);

  // A flag wins even over an environment value that would not parse.
  auto rescued = load_config(env_of({{"PORT", "http"}}), {{"port", "0"}});
  ASSERT_TRUE(rescued.ok());
  EXPECT_EQ(rescued->port, 0);

  // Empty environment values count as unset.
  auto empty = load_config(env_of({{"PORT", ""}, {"ALLOWED_ORIGINS", ""}}), {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->port, 8080);
  EXPECT_FALSE(empty->allowed_origins.has_value());
}

TEST(Config, ListsAndCompoundValuesParse) {
  auto config = load_config(env_of({{"ALLOWED_ORIGINS", " https://a.example.com ,https://b.example.com/ "},
                                    {"SPECTRUM_RATE_LIMIT", "30:5"},
                                    {"SPECTRUM_PUBLIC_URL", "https://m.example.com/"}}),
                            {});
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_TRUE(config->allowed_origins.has_value());
  EXPECT_EQ(*config->allowed_origins, (std::vector<std::string>{"https://a.example.com", "https://b.example.com"}));
  EXPECT_DOUBLE_EQ(config->rate_limit_per_minute, 30.0);
  EXPECT_DOUBLE_EQ(config->rate_limit_burst, 5.0);
  EXPECT_EQ(config->public_url, "https://m.example.com");
}

TEST(Config, BadValuesNameTheKeyAndTheRange) {
  struct Case {
    std::map<std::string, std::string> env;
    std::map<std::string, std::string> flags;
    std::string message_start;
  };
  const std::vector<Case> cases = {
      {{{"PORT", "65536"}}, {}, "PORT must be an integer between 0 and 65535 (got '65536')"},
      {{{"PORT", "80x"}}, {}, "PORT must be an integer between 0 and 65535"},
      {{}, {{"port", "-1"}}, "--port must be an integer between 0 and 65535"},
      {{{"SPECTRUM_MAX_JOBS", "0"}}, {}, "SPECTRUM_MAX_JOBS must be an integer between 1 and 256"},
      {{}, {{"max-duration-seconds", "nan"}}, "--max-duration-seconds must be a number between 1 and 86400"},
      {{{"SPECTRUM_SHUTDOWN_GRACE_SECONDS", "-1"}}, {}, "SPECTRUM_SHUTDOWN_GRACE_SECONDS must be a number"},
      {{{"ALLOWED_ORIGINS", "https://a.example.com/path"}}, {}, "ALLOWED_ORIGINS must be"},
      {{{"SPECTRUM_PUBLIC_URL", "ftp://x"}}, {}, "SPECTRUM_PUBLIC_URL must be an http:// or https:// URL"},
      {{{"SPECTRUM_BACKEND_API_TOKEN", "short"}}, {}, "SPECTRUM_BACKEND_API_TOKEN must be at least 16 characters"},
      {{{"SPECTRUM_SIGNING_SECRET", "short"}}, {}, "SPECTRUM_SIGNING_SECRET must be at least 32 bytes"},
      {{{"SPECTRUM_RATE_LIMIT", "10:0"}}, {}, "SPECTRUM_RATE_LIMIT must be"},
      {{{"SPECTRUM_LOG_LEVEL", "loud"}}, {}, "SPECTRUM_LOG_LEVEL must be one of"},
      {{}, {{"max-jobs", "4"}, {"max-queue", "4"}, {"http-threads", "9"}}, "http-threads must be at least"},
      {{}, {{"no-such-flag", "1"}}, "unknown option --no-such-flag"},
  };
  for (const auto& c : cases) {
    auto config = load_config(env_of(c.env), c.flags);
    ASSERT_FALSE(config.ok()) << c.message_start;
    EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(config.error().message.rfind(c.message_start, 0), 0u) << config.error().message;
    EXPECT_EQ(config.error().message.find("short"), std::string::npos) << "secrets are never echoed";
  }
}

TEST(Config, EveryKeyIsDocumented) {
  for (const auto& key : config_keys()) {
    EXPECT_FALSE(key.env.empty() && key.flag.empty());
    EXPECT_FALSE(key.default_text.empty()) << key.env;
    EXPECT_FALSE(key.help.empty()) << key.env;
  }
}

}  // namespace
}  // namespace spectrum::server
