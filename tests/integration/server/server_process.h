// Test helpers: run the real `spectrum-master serve` on 127.0.0.1 with an ephemeral port in a temporary
// directory, make audio fixtures with the ffmpeg CLI, and measure loudness with ffmpeg's ebur128 filter.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace spectrum::testing {

namespace fs = std::filesystem;

inline fs::path make_temp_dir(const std::string& prefix) {
  const fs::path dir = fs::temp_directory_path() /
                       (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  return dir;
}

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The path (and query) of an absolute URL the service returned.
inline std::string path_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

// The web app's upload path: a signed PUT URL for `name` (audio/wav), then the file's bytes.
inline bool upload_file(httplib::Client& client, const std::string& name, const fs::path& file) {
  const nlohmann::json ticket = {{"fileName", name}, {"contentType", "audio/wav"}};
  auto signed_url = client.Post("/api/upload-url", ticket.dump(), "application/json");
  if (!signed_url || signed_url->status != 200) return false;
  const auto answer = nlohmann::json::parse(signed_url->body, nullptr, false);
  if (!answer.is_object() || !answer.contains("uploadUrl")) return false;
  auto put = client.Put(path_of(answer["uploadUrl"].get<std::string>()).c_str(), read_text(file), "audio/wav");
  return put && put->status == 200;
}

// Runs a shell command, returning its exit status and combined output.
inline std::pair<int, std::string> run_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A stereo sine test tone (amplitude -12 dBFS by default) in any format ffmpeg infers from the extension.
inline bool make_tone(const fs::path& path, double seconds, double frequency_hz = 440.0, double volume_db = -12.0) {
  const std::string command =
      "ffmpeg -nostdin -v error -y -f lavfi -i \"sine=frequency=" + std::to_string(frequency_hz) +
      ":sample_rate=48000:duration=" + std::to_string(seconds) + "\" -af volume=" + std::to_string(volume_db) +
      "dB -ac 2 '" + path.string() + "'";
  return run_command(command).first == 0 && fs::exists(path);
}

struct Loudness {
  double integrated_lufs = 0.0;
  double true_peak_dbtp = 0.0;
};

// Independent of our engine: ffmpeg's EBU R128 meter with true-peak measurement.
inline std::optional<Loudness> measure_loudness(const fs::path& path) {
  const auto [status, output] =
      run_command("ffmpeg -nostdin -hide_banner -nostats -i '" + path.string() + "' -af ebur128=peak=true -f null -");
  if (status != 0) return std::nullopt;
  const auto summary = output.rfind("Summary:");
  if (summary == std::string::npos) return std::nullopt;
  const std::string tail = output.substr(summary);
  std::smatch match;
  Loudness loudness;
  if (!std::regex_search(tail, match, std::regex(R"(I:\s+(-?[0-9.]+) LUFS)"))) return std::nullopt;
  loudness.integrated_lufs = std::stod(match[1]);
  if (!std::regex_search(tail, match, std::regex(R"(Peak:\s+(-?[0-9.]+|-inf) dBFS)"))) return std::nullopt;
  loudness.true_peak_dbtp = match[1] == "-inf" ? -1000.0 : std::stod(match[1]);
  return loudness;
}

class ServerProcess {
 public:
  // `args` come after "serve --host 127.0.0.1 --port 0 --port-file ... --data-dir ..."; `env` is added to
  // (and overrides) the test's own environment.
  ServerProcess(std::vector<std::string> args = {}, std::map<std::string, std::string> env = {})
      : dir_(make_temp_dir("spectrum-server-it")) {
    std::vector<std::string> argv_text = {
        SPECTRUM_CLI_PATH,        "serve",      "--host",           "127.0.0.1", "--port", "0", "--port-file",
        (dir_ / "port").string(), "--data-dir", data_dir().string()};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::map<std::string, std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const auto eq = entry.find('=');
      if (eq != std::string::npos) environment[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const char* name : {"PORT", "ALLOWED_ORIGINS", "SPECTRUM_BACKEND_API_TOKEN", "GOOGLE_CLOUD_BUCKET_NAME",
                             "SPECTRUM_RATE_LIMIT", "SPECTRUM_PUBLIC_URL"}) {
      environment.erase(name);
    }
    for (const auto& [k, v] : env) environment[k] = v;
    std::vector<std::string> env_text;
    for (const auto& [k, v] : environment) env_text.push_back(k + "=" + v);

    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = log_path().string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    spawned_ = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) == 0;
    posix_spawn_file_actions_destroy(&actions);
  }

  ~ServerProcess() {
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for the port file and a healthy /health. False if the process died or took too long.
  bool wait_until_ready(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    if (!spawned_) return false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (has_exited()) return false;
      if (port_ == 0 && fs::exists(dir_ / "port")) port_ = std::atoi(read_text(dir_ / "port").c_str());
      if (port_ > 0) {
        httplib::Client client("127.0.0.1", port_);
        client.set_connection_timeout(1);
        if (auto res = client.Get("/health"); res && res->status == 200) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Waits for the process to exit; returns its exit code, or nullopt on timeout (or death by signal: -signal).
  std::optional<int> wait_for_exit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (has_exited()) return exit_status_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  void signal(int signal_number) const { ::kill(pid_, signal_number); }

  [[nodiscard]] std::unique_ptr<httplib::Client> client(int read_timeout_s = 120) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_connection_timeout(5);
    c->set_read_timeout(read_timeout_s);
    c->set_write_timeout(30);
    return c;
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] fs::path dir() const { return dir_; }
  [[nodiscard]] fs::path data_dir() const { return dir_ / "data"; }
  [[nodiscard]] fs::path log_path() const { return dir_ / "server.log"; }
  [[nodiscard]] std::string log() const { return read_text(log_path()); }

 private:
  bool has_exited() {
    if (exit_status_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      return true;
    }
    return false;
  }

  fs::path dir_;
  pid_t pid_ = -1;
  bool spawned_ = false;
  int port_ = 0;
  std::optional<int> exit_status_;
};

}  // namespace spectrum::testing
