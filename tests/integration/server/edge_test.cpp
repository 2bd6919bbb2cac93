// The HTTP edge under hostile or heavy traffic: truncated and lying uploads, header floods, slow clients,
// connection limits, object-name segment limits, SIGTERM during a long job and a 20-minute 48 kHz WAV through
// the default limits. Raw POSIX sockets where httplib would be too polite to misbehave.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"

namespace spectrum::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- waiting -----------------------------------------------------------------------------------------

int millis_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// ---- raw connections ---------------------------------------------------------------------------------

struct RawResponse {
  int status = 0;  // 0: no status line arrived
  std::string head;
  std::string body;
  bool closed = false;  // the server closed or reset the connection while we read
};

// One client TCP connection to 127.0.0.1, non-blocking, every operation bounded by a deadline.
class RawConnection {
 public:
  // `source` binds the client end to another loopback address (Linux routes all of 127/8 to lo), so the
  // server sees distinct client addresses.
  explicit RawConnection(int port, const std::string& source = "", Clock::duration timeout = 2s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    if (!source.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
          ::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        close();
        return;
      }
    }
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) == 0) return;
    if (errno != EINPROGRESS) {
      close();
      return;
    }
    pollfd p{fd_, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    if (::poll(&p, 1, millis_until(Clock::now() + timeout)) != 1 ||
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      close();
    }
  }
  ~RawConnection() { close(); }
  RawConnection(RawConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RawConnection& operator=(RawConnection&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }

  // Sends as much of `data` as the server takes before `deadline` and stops at the first error: a reset or
  // a closed connection is the server defending itself, not a test failure. Returns the bytes sent.
  std::size_t send_some(std::string_view data, Clock::time_point deadline) {
    std::size_t sent = 0;
    while (fd_ >= 0 && sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() < deadline) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, millis_until(deadline));
      } else {
        break;
      }
    }
    return sent;
  }
  bool send_all(std::string_view data, Clock::time_point deadline) { return send_some(data, deadline) == data.size(); }

  // The server sees the end of the request stream (as after a client's close) but can still answer.
  void shutdown_write() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

  // Reads one response: the head, then a Content-Length body (or everything until close if there is none).
  RawResponse read_response(Clock::time_point deadline) {
    RawResponse response;
    std::string data;
    std::size_t head_end = std::string::npos;
    std::optional<std::size_t> length;
    while (fd_ >= 0) {
      if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
        length = content_length(data.substr(0, head_end));
      }
      if (head_end != std::string::npos && length && data.size() >= head_end + 4 + *length) break;
      char buffer[16384];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        data.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
        response.closed = true;
        break;
      } else if (errno != EINTR) {
        if (Clock::now() >= deadline) break;
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, millis_until(deadline));
      }
    }
    if (data.rfind("HTTP/1.", 0) == 0 && data.size() >= 12) response.status = std::atoi(data.c_str() + 9);
    response.head = data.substr(0, head_end);
    if (head_end != std::string::npos) response.body = data.substr(head_end + 4, length.value_or(std::string::npos));
    return response;
  }

  // True if the server closes or resets the connection before `deadline`; whatever it sends first is dropped.
  // With a past deadline this checks once without waiting.
  bool wait_closed(Clock::time_point deadline) {
    while (fd_ >= 0) {
      char buffer[16384];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return true;
      if (n > 0 || errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset
      if (Clock::now() >= deadline) return false;
      pollfd p{fd_, POLLIN | POLLRDHUP, 0};
      ::poll(&p, 1, millis_until(deadline));
    }
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  static std::optional<std::size_t> content_length(std::string head) {
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) return std::nullopt;
    return static_cast<std::size_t>(std::strtoull(head.c_str() + at + 17, nullptr, 10));
  }

  int fd_ = -1;
};

// A request head: `headers` are "Name: value" lines after Host.
std::string request_head(const std::string& method, const std::string& target,
                         const std::vector<std::string>& headers = {}) {
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& header : headers) head += header + "\r\n";
  return head + "\r\n";
}

// Sends `request` on a fresh connection and reads one response.
RawResponse round_trip(int port, const std::string& request, Clock::duration timeout = 5s) {
  RawConnection connection(port);
  if (!connection.connected()) return {};
  const auto deadline = Clock::now() + timeout;
  connection.send_some(request, deadline);
  return connection.read_response(deadline);
}

// ---- HTTP and JSON -----------------------------------------------------------------------------------

json body_of(const httplib::Result& res) {
  return json::parse(res->body, nullptr, false);
}

httplib::Result post_json(httplib::Client& client, const std::string& path, const json& body) {
  return client.Post(path.c_str(), body.dump(), "application/json");
}

bool contains_ignoring_case(std::string text, std::string words) {
  const auto lower = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  };
  lower(text);
  lower(words);
  return text.find(words) != std::string::npos;
}

// Every error is {"success": false, "error": "<message>"}; `words` (if any) must be in the message.
void expect_json_error(int status, const std::string& body_text, int expected_status, const std::string& words = "") {
  ASSERT_EQ(status, expected_status) << body_text.substr(0, 1000);
  const json body = json::parse(body_text, nullptr, false);
  ASSERT_TRUE(body.is_object()) << "not a JSON error: " << body_text;
  EXPECT_EQ(body.value("success", true), false) << body_text;
  ASSERT_TRUE(body.contains("error") && body["error"].is_string()) << body_text;
  if (!words.empty()) {
    EXPECT_TRUE(contains_ignoring_case(body["error"].get<std::string>(), words)) << words << " not in " << body_text;
  }
}

void expect_error(const httplib::Result& res, int status, const std::string& words = "") {
  ASSERT_TRUE(res) << "no response";
  expect_json_error(res->status, res->body, status, words);
}

// The path (and query) of an absolute URL the service returned.
// A fresh signed PUT URL for `name` (content type audio/wav) as a /files/ path and query; "" on failure.
std::string signed_put_path(httplib::Client& client, const std::string& name) {
  auto res = post_json(client, "/api/upload-url", {{"fileName", name}, {"contentType", "audio/wav"}});
  if (!res || res->status != 200) return "";
  const json body = body_of(res);
  if (!body.contains("uploadUrl") || !body["uploadUrl"].is_string()) return "";
  return path_of(body["uploadUrl"]);
}

// httplib writes without MSG_NOSIGNAL: a server that answers early (413) and closes would kill the test
// process with SIGPIPE in the middle of a large upload. Scoped, so servers spawned later start with the
// default disposition.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() { previous_ = ::signal(SIGPIPE, SIG_IGN); }
  ~IgnoreSigpipe() { ::signal(SIGPIPE, previous_); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  void (*previous_)(int) = SIG_DFL;
};

// PUTs a file in pieces of at most 1 MiB, so a 230 MB fixture is never in memory whole.
httplib::Result put_file_streamed(httplib::Client& client, const std::string& path, const fs::path& file) {
  const IgnoreSigpipe no_sigpipe;
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  const auto size = static_cast<std::size_t>(fs::file_size(file));
  return client.Put(
      path.c_str(), size,
      [in](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        std::vector<char> buffer(std::min<std::size_t>(length, 1 << 20));
        in->seekg(static_cast<std::streamoff>(offset));
        in->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto got = in->gcount();
        return got > 0 && sink.write(buffer.data(), static_cast<std::size_t>(got));
      },
      "audio/wav");
}

// GETs `path` into `file` (the response's body stays empty).
httplib::Result download_to(httplib::Client& client, const std::string& path, const fs::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  return client.Get(path.c_str(), [&out](const char* data, std::size_t length) {
    out.write(data, static_cast<std::streamsize>(length));
    return static_cast<bool>(out);
  });
}

// ---- the server's side -------------------------------------------------------------------------------

fs::path object_path(const ServerProcess& server, const std::string& name) {
  return server.data_dir() / "objects" / name;
}

std::optional<std::string> object_bytes(const ServerProcess& server, const std::string& name) {
  const fs::path path = object_path(server, name);
  if (!fs::exists(path)) return std::nullopt;
  return read_text(path);
}

// True if object `name` holds exactly `bytes` throughout `window`: a late commit of a lying upload would show.
bool object_stays(const ServerProcess& server, const std::string& name, const std::string& bytes,
                  Clock::duration window) {
  const auto end = Clock::now() + window;
  do {
    if (object_bytes(server, name) != bytes) return false;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < end);
  return true;
}

// Temporary files of atomic writes (".<name>.tmp-XXXXXX") anywhere under the object root.
std::vector<std::string> leftover_temp_files(const ServerProcess& server) {
  std::vector<std::string> found;
  const fs::path root = server.data_dir() / "objects";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().filename().string().find(".tmp-") != std::string::npos) found.push_back(it->path().string());
  }
  return found;
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += item + "\n";
  return text;
}

// The end of the server's log: access logs under load are too long to print whole.
std::string log_tail(const ServerProcess& server, std::size_t bytes = 4000) {
  const std::string log = server.log();
  return log.size() <= bytes ? log : log.substr(log.size() - bytes);
}

// Peak resident set (VmHWM) of a process in bytes, or -1.
long long peak_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

std::optional<double> duration_seconds(const fs::path& path) {
  const auto [status, output] =
      run_command("ffprobe -v error -show_entries format=duration -of csv=p=0 '" + path.string() + "'");
  if (status != 0 || output.empty()) return std::nullopt;
  return std::atof(output.c_str());
}

// The slow-client test holds 500 sockets at once; `ulimit -n` is often 1024 soft, which is enough, but a
// lower soft limit is raised towards the hard one.
bool ensure_descriptor_limit(rlim_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= wanted) return true;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur >= wanted;
}

class Edge : public ::testing::Test {
 protected:
  void SetUp() override { fixtures_ = make_temp_dir("spectrum-it-edge"); }
  void TearDown() override { fs::remove_all(fixtures_); }
  fs::path fixtures_;
};

// ---- uploads -----------------------------------------------------------------------------------------

// Sends a PUT head and `body` on a raw connection, half-closes (the server sees what it would see if the
// client went away), and reads until the server closes. What the server answered, if anything.
RawResponse put_then_hang_up(int port, const std::string& path, const std::vector<std::string>& framing,
                             const std::string& body) {
  RawConnection connection(port);
  if (!connection.connected()) return {};
  std::vector<std::string> headers = {"Content-Type: audio/wav"};
  headers.insert(headers.end(), framing.begin(), framing.end());
  const auto deadline = Clock::now() + 5s;
  connection.send_some(request_head("PUT", path, headers) + body, deadline);
  connection.shutdown_write();
  RawResponse response = connection.read_response(deadline);
  response.closed = response.closed || connection.wait_closed(deadline);
  return response;
}

TEST_F(Edge, TruncatedAndLyingUploadsStoreNothing) {
  ServerProcess server({"--body-timeout-seconds", "2"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client(30);
  const std::string name = "takes/x.wav";
  const std::string a(4096, 'A');
  const std::string b(3000, 'B');
  // Each case starts from X = A stored by an honest upload, so one failure does not mask the next.
  const auto store_a = [&] {
    const std::string path = signed_put_path(*client, name);
    ASSERT_FALSE(path.empty());
    auto put = client->Put(path.c_str(), a, "audio/wav");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 200) << put->body;
    ASSERT_EQ(object_bytes(server, name), a);
  };
  const auto no_temp_files = [&server] { return leftover_temp_files(server).empty(); };

  {
    SCOPED_TRACE("(a) Content-Length twice the bytes sent, then the client hangs up");
    ASSERT_NO_FATAL_FAILURE(store_a());
    const std::string path = signed_put_path(*client, name);
    ASSERT_FALSE(path.empty());
    const auto response = put_then_hang_up(server.port(), path, {"Content-Length: " + std::to_string(2 * b.size())}, b);
    EXPECT_NE(response.status, 200) << "half a body was acknowledged";
    EXPECT_TRUE(response.closed) << "the server kept a connection whose request can never complete";
    EXPECT_TRUE(object_stays(server, name, a, 500ms))
        << "now " << object_bytes(server, name).value_or("<missing>").size() << " bytes";
    EXPECT_TRUE(eventually(no_temp_files, 2s)) << joined(leftover_temp_files(server));
  }
  {
    SCOPED_TRACE("(b) chunked, one chunk, no terminating 0-chunk, then the client hangs up");
    ASSERT_NO_FATAL_FAILURE(store_a());
    const std::string path = signed_put_path(*client, name);
    ASSERT_FALSE(path.empty());
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", b.size());
    const auto response = put_then_hang_up(server.port(), path, {"Transfer-Encoding: chunked"}, size_line + b + "\r\n");
    EXPECT_NE(response.status, 200) << "an unterminated chunked body was acknowledged";
    EXPECT_TRUE(response.closed);
    EXPECT_TRUE(object_stays(server, name, a, 500ms))
        << "now " << object_bytes(server, name).value_or("<missing>").size() << " bytes";
    EXPECT_TRUE(eventually(no_temp_files, 2s)) << joined(leftover_temp_files(server));
  }
  {
    SCOPED_TRACE("(c) Content-Length 100 MB, 2 bytes, then silence with the socket open");
    ASSERT_NO_FATAL_FAILURE(store_a());
    const std::string path = signed_put_path(*client, name);
    ASSERT_FALSE(path.empty());
    RawConnection connection(server.port());
    ASSERT_TRUE(connection.connected());
    const auto start = Clock::now();
    ASSERT_TRUE(connection.send_all(
        request_head("PUT", path, {"Content-Type: audio/wav", "Content-Length: 104857600"}) + "BB", start + 5s));
    // --body-timeout-seconds 2: a body that makes no progress for 2 s ends the request.
    const RawResponse response = connection.read_response(start + 10s);
    EXPECT_TRUE(response.status == 408 || response.status == 400)
        << "status " << response.status << " after " << seconds_since(start) << " s: " << response.head;
    if (response.status != 0) expect_json_error(response.status, response.body, response.status);
    EXPECT_TRUE(response.closed || connection.wait_closed(Clock::now() + 3s)) << "408 must close the connection";
    EXPECT_TRUE(object_stays(server, name, a, 500ms))
        << "now " << object_bytes(server, name).value_or("<missing>").size() << " bytes";
    EXPECT_TRUE(eventually(no_temp_files, 2s)) << joined(leftover_temp_files(server));
  }
  {
    SCOPED_TRACE("(d) Content-MD5 and x-goog-hash");
    ASSERT_NO_FATAL_FAILURE(store_a());
    // printf %s 'checked bytes, first version' | openssl dgst -md5 -binary | base64 (and likewise below).
    const std::string first = "checked bytes, first version";
    const std::string first_md5 = "li3/WbMsHfus0adF7cOr2Q==";
    const std::string second = "checked bytes, second version";
    const std::string second_md5 = "7+PqjodK0dUwbCUGAr5vhw==";
    const std::string empty_md5 = "1B2M2Y8AsgTpgAmY7PhCfg==";  // well-formed, so only a comparison catches it

    std::string path = signed_put_path(*client, name);
    ASSERT_FALSE(path.empty());
    expect_error(client->Put(path.c_str(), {{"Content-MD5", empty_md5}}, first, "audio/wav"), 400, "MD5");
    EXPECT_TRUE(object_stays(server, name, a, 200ms));
    path = signed_put_path(*client, name);
    expect_error(client->Put(path.c_str(), {{"x-goog-hash", "md5=" + empty_md5}}, first, "audio/wav"), 400, "MD5");
    EXPECT_TRUE(object_stays(server, name, a, 200ms));

    path = signed_put_path(*client, name);
    auto right = client->Put(path.c_str(), {{"Content-MD5", first_md5}}, first, "audio/wav");
    ASSERT_TRUE(right);
    EXPECT_EQ(right->status, 200) << right->body;
    EXPECT_EQ(object_bytes(server, name), first);

    path = signed_put_path(*client, name);
    auto goog = client->Put(path.c_str(), {{"x-goog-hash", "md5=" + second_md5}}, second, "audio/wav");
    ASSERT_TRUE(goog);
    EXPECT_EQ(goog->status, 200) << goog->body;
    EXPECT_EQ(object_bytes(server, name), second);
    EXPECT_TRUE(eventually(no_temp_files, 2s)) << joined(leftover_temp_files(server));
  }
}

// ---- header limits -----------------------------------------------------------------------------------

// A GET /health whose head has Host plus `count` more fields of `value_bytes` each.
std::string health_with_fields(int count, std::size_t value_bytes) {
  std::vector<std::string> headers;
  for (int i = 0; i < count; ++i) {
    headers.push_back("X-Field-" + std::to_string(i) + ": " + std::string(value_bytes, 'v'));
  }
  return request_head("GET", "/health", headers);
}

// A 431 JSON error, then the server closes.
void expect_431_and_close(int port, const std::string& request) {
  RawConnection connection(port);
  ASSERT_TRUE(connection.connected());
  const auto deadline = Clock::now() + 5s;
  connection.send_some(request, deadline);
  const RawResponse response = connection.read_response(deadline);
  expect_json_error(response.status, response.body, 431);
  EXPECT_TRUE(response.closed || connection.wait_closed(Clock::now() + 3s)) << "431 must close the connection";
}

TEST_F(Edge, HeaderFloodKeepsMemoryBounded) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const int port = server.port();

  // A normal client keeps asking for /health while the flood runs (and 10 more times after it).
  std::atomic<bool> flooding{true};
  auto watcher = std::async(std::launch::async, [port, &flooding] {
    std::vector<int> statuses;
    for (int after = 0; after < 10;) {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(2);
      c.set_read_timeout(2);
      auto res = c.Get("/health");
      statuses.push_back(res ? res->status : -1);
      if (!flooding) ++after;
      std::this_thread::sleep_for(50ms);
    }
    return statuses;
  });

  struct Flood {
    std::size_t sent = 0;
    int status = 0;
  };
  constexpr int kConnections = 16;
  constexpr std::size_t kFloodBytes = std::size_t{16} << 20;
  std::vector<std::future<Flood>> floods;
  for (int i = 0; i < kConnections; ++i) {
    floods.push_back(std::async(std::launch::async, [port] {
      Flood flood;
      RawConnection connection(port);
      if (!connection.connected()) return flood;
      const auto deadline = Clock::now() + 30s;
      connection.send_some("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n", deadline);
      std::string chunk;
      for (int line = 0; flood.sent < kFloodBytes && Clock::now() < deadline;) {
        chunk.clear();
        while (chunk.size() < 64 * 1024) {
          chunk += "X-Filler-" + std::to_string(line++) + ": " + std::string(4000, 'f') + "\r\n";
        }
        const std::size_t sent = connection.send_some(chunk, deadline);
        flood.sent += sent;
        if (sent < chunk.size()) break;  // the server closed, reset or stopped reading: it is defending itself
      }
      // If the server swallowed all 16 MB, finish the request: it must still not be served.
      if (flood.sent >= kFloodBytes) connection.send_some("\r\n", deadline);
      flood.status = connection.read_response(Clock::now() + 3s).status;
      return flood;
    }));
  }
  std::vector<Flood> results;
  for (auto& f : floods) results.push_back(f.get());
  flooding = false;
  const std::vector<int> health = watcher.get();

  const long long peak = peak_rss_bytes(server.pid());
  ASSERT_GT(peak, 0) << "no VmHWM for pid " << server.pid();
  RecordProperty("peak_rss_mib", std::to_string(peak >> 20));
  EXPECT_LT(peak, 256LL << 20) << "peak RSS " << (peak >> 20) << " MiB under a header flood";
  for (const auto& flood : results) {
    // 0: the server closed or reset before an answer could be read, which is also a refusal.
    EXPECT_TRUE(flood.status == 0 || flood.status == 431)
        << "a header block of " << flood.sent << " bytes got " << flood.status;
  }
  EXPECT_GE(health.size(), 10u);
  EXPECT_EQ(std::count(health.begin(), health.end(), 200), static_cast<long>(health.size()))
      << "some /health checks failed during the flood";

  // The limits themselves, each with a request just inside it that still works.
  EXPECT_EQ(round_trip(port, health_with_fields(99, 8)).status, 200) << "100 fields (Host + 99) are allowed";
  expect_431_and_close(port, health_with_fields(100, 8));                 // 101 fields
  EXPECT_EQ(round_trip(port, health_with_fields(15, 4000)).status, 200);  // about 60 KiB
  expect_431_and_close(port, health_with_fields(18, 4000));               // about 70 KiB in 19 fields
  EXPECT_EQ(round_trip(port, request_head("GET", "/health")).status, 200);
}

TEST_F(Edge, LongRequestTargetIs414) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  EXPECT_EQ(round_trip(server.port(), request_head("GET", "/health?pad=" + std::string(8000, 'p'))).status, 200);
  const RawResponse response = round_trip(server.port(), request_head("GET", "/health?pad=" + std::string(8300, 'p')));
  expect_json_error(response.status, response.body, 414);
}

// ---- slow clients and connection limits --------------------------------------------------------------

TEST_F(Edge, SlowClientsCostNoThread) {
  constexpr int kAddresses = 10;  // 127.0.0.2 .. 127.0.0.11
  constexpr int kPerAddress = 50;
  ASSERT_TRUE(ensure_descriptor_limit(1024)) << "need about 600 descriptors for 500 slow connections";
  // The header timeout is raised so all 500 are held for the whole run; its default (10 s) would close them
  // halfway, which is its job but not what this test measures.
  ServerProcess server({"--header-timeout-seconds", "60"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const int port = server.port();
  const fs::path tone = fixtures_ / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 10.0));

  // Every one must be accepted (both connection limits are far away). A server whose accept loop stalls lets
  // connects time out; after 10 such failures the rest are not tried, so the test still measures /health.
  std::vector<RawConnection> slow;
  slow.reserve(kAddresses * kPerAddress);
  std::string connect_failures;
  int failed = 0;
  for (int a = 0; a < kAddresses && failed < 10; ++a) {
    const std::string source = "127.0.0." + std::to_string(2 + a);
    for (int i = 0; i < kPerAddress && failed < 10; ++i) {
      RawConnection connection(port, source, 1s);
      if (connection.connected()) {
        slow.push_back(std::move(connection));
      } else {
        connect_failures += source + " #" + std::to_string(i) + " not connected within 1 s\n";
        ++failed;
      }
    }
  }
  EXPECT_EQ(slow.size(), static_cast<std::size_t>(kAddresses * kPerAddress)) << connect_failures;

  constexpr auto kRun = 20s;
  const auto start = Clock::now();
  // One byte of a request that never ends, per connection per second.
  auto dribbler = std::async(std::launch::async, [&slow, start] {
    const std::string request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: never-finished";
    for (int second = 0; second < 20; ++second) {
      for (auto& connection : slow) connection.send_some(request.substr(second, 1), Clock::now());
      std::this_thread::sleep_until(start + std::chrono::seconds(second + 1));
    }
  });
  // Meanwhile a real job: upload a 10 s tone and master it.
  auto job = std::async(std::launch::async, [&server, &tone] {
    auto client = server.client(60);
    const std::string path = signed_put_path(*client, "slow/tone.wav");
    if (path.empty()) return std::make_pair(-1, std::string("no upload URL"));
    auto put = client->Put(path.c_str(), read_text(tone), "audio/wav");
    if (!put || put->status != 200) return std::make_pair(-2, put ? put->body : std::string("no PUT response"));
    auto res = post_json(*client, "/api/master-audio", {{"fileName", "slow/tone.wav"}});
    return res ? std::make_pair(res->status, res->body) : std::make_pair(-3, std::string("no response"));
  });

  std::vector<double> latencies_ms;
  int failures = 0;
  while (Clock::now() - start < kRun) {
    const auto sent = Clock::now();
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1);
    c.set_read_timeout(1);
    auto res = c.Get("/health");
    latencies_ms.push_back(seconds_since(sent) * 1000.0);
    if (!res || res->status != 200) ++failures;
    std::this_thread::sleep_until(sent + 20ms);
  }
  dribbler.get();
  const auto [job_status, job_body] = job.get();

  int closed = 0;
  for (auto& connection : slow) closed += connection.wait_closed(Clock::now()) ? 1 : 0;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  ASSERT_FALSE(latencies_ms.empty());
  const double p99 = latencies_ms[static_cast<std::size_t>(std::ceil(0.99 * latencies_ms.size())) - 1];
  RecordProperty("health_checks", std::to_string(latencies_ms.size()));
  RecordProperty("health_p99_ms", std::to_string(p99));

  EXPECT_EQ(failures, 0) << "of " << latencies_ms.size() << " /health checks";
  EXPECT_GE(latencies_ms.size(), 400u) << "/health was too slow to be asked every 20 ms";
  EXPECT_LT(p99, 50.0) << "p99 /health latency (ms); max " << latencies_ms.back();
  EXPECT_EQ(job_status, 200) << job_body;
  // Under both connection limits (256 per address, 1000 in all) and the raised header timeout, nothing
  // entitles the server to drop them: holding them is the point.
  EXPECT_EQ(closed, 0) << "slow connections closed by the server";
}

// The indexes of the connections the server closes (or resets) within `window`, all watched together.
std::vector<int> closed_within(std::vector<RawConnection>& connections, Clock::duration window) {
  const auto deadline = Clock::now() + window;
  std::vector<int> closed;
  for (std::size_t i = 0; i < connections.size(); ++i) {
    if (connections[i].wait_closed(deadline)) closed.push_back(static_cast<int>(i));
  }
  return closed;
}

// A GET /health on `connection` is answered 200 within a second.
bool health_answered(RawConnection& connection) {
  return connection.connected() && connection.send_all(request_head("GET", "/health"), Clock::now() + 1s) &&
         connection.read_response(Clock::now() + 1s).status == 200;
}

TEST_F(Edge, PerAddressConnectionLimit) {
  ServerProcess server({"--max-connections-per-address", "20"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const int port = server.port();
  const std::string crowded = "127.0.0.12";

  std::vector<RawConnection> held;
  for (int i = 0; i < 25; ++i) {
    held.emplace_back(port, crowded);
    ASSERT_TRUE(held.back().connected()) << i;
  }
  // Connections are accepted in the order they were made, so the last five are the extra ones.
  EXPECT_EQ(closed_within(held, 2s), (std::vector<int>{20, 21, 22, 23, 24}));

  // Other addresses are not affected, and the held connections are really served.
  auto health = server.client()->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  RawConnection other(port, "127.0.0.13");
  EXPECT_TRUE(health_answered(other)) << "127.0.0.13 was refused";
  EXPECT_TRUE(health_answered(held[0])) << "a held connection was not served";

  // Freed slots can be used again by the same address.
  for (int i = 0; i < 5; ++i) held[i].close();
  EXPECT_TRUE(eventually(
      [&] {
        RawConnection again(port, crowded);
        return health_answered(again);
      },
      3s))
      << crowded << " was not served after closing 5 of its 20 connections";
}

TEST_F(Edge, GlobalConnectionLimit) {
  ServerProcess server({"--max-connections", "30"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const int port = server.port();

  // 10 per address (127.0.0.14 .. 127.0.0.17), far under the per-address limit: only the total counts.
  std::vector<RawConnection> held;
  for (int i = 0; i < 35; ++i) {
    held.emplace_back(port, "127.0.0." + std::to_string(14 + i / 10));
    ASSERT_TRUE(held.back().connected()) << i;
  }
  EXPECT_EQ(closed_within(held, 2s), (std::vector<int>{30, 31, 32, 33, 34}));
  EXPECT_TRUE(health_answered(held[0])) << "a held connection was not served";

  for (int i = 0; i < 5; ++i) held[i].close();
  EXPECT_TRUE(eventually(
      [&] {
        RawConnection again(port, "127.0.0.18");
        return health_answered(again);
      },
      3s))
      << "no new connection was served after closing 5 of 30";
}

TEST_F(Edge, StalledHeadersAndIdleKeepAliveAreClosed) {
  ServerProcess server({"--header-timeout-seconds", "2", "--idle-timeout-seconds", "1"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const int port = server.port();
  {
    SCOPED_TRACE("a header block that keeps arriving, one byte every 200 ms, never completes within 2 s");
    RawConnection dribbling(port);
    ASSERT_TRUE(dribbling.connected());
    const std::string request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(100, 's');
    const auto start = Clock::now();
    bool closed = false;
    for (std::size_t i = 0; i < request.size() && !closed && seconds_since(start) < 6.0; ++i) {
      dribbling.send_some(request.substr(i, 1), Clock::now());
      closed = dribbling.wait_closed(Clock::now() + 200ms);
    }
    const double elapsed = seconds_since(start);
    EXPECT_TRUE(closed) << "still open after " << elapsed << " s";
    EXPECT_GE(elapsed, 1.5);
    EXPECT_LE(elapsed, 4.0);
  }
  {
    SCOPED_TRACE("a keep-alive connection left idle after a request");
    RawConnection idle(port);
    ASSERT_TRUE(idle.connected());
    ASSERT_TRUE(idle.send_all(request_head("GET", "/health"), Clock::now() + 2s));
    ASSERT_EQ(idle.read_response(Clock::now() + 2s).status, 200);
    const auto start = Clock::now();
    EXPECT_TRUE(idle.wait_closed(start + 4s));
    EXPECT_GE(seconds_since(start), 0.5);
    EXPECT_LE(seconds_since(start), 3.0);
  }
}

// ---- object names ------------------------------------------------------------------------------------

TEST_F(Edge, LongSegmentIs400AtUploadUrl) {
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const std::string segment_300 = std::string(296, 's') + ".wav";
  const std::string segment_201 = std::string(197, 's') + ".wav";
  const std::string segment_200 = std::string(196, 's') + ".wav";
  expect_error(post_json(*client, "/api/upload-url", {{"fileName", segment_300}}), 400, "segment");
  expect_error(post_json(*client, "/api/upload-url", {{"fileName", "album/" + segment_300}}), 400, "segment");
  expect_error(post_json(*client, "/api/upload-url", {{"fileName", segment_300 + "/take.wav"}}), 400, "segment");
  expect_error(post_json(*client, "/api/upload-url", {{"fileName", segment_201}}), 400, "segment");

  // Exactly 200 bytes is allowed, and the whole upload works (the temporary name beside it is longer).
  const std::string name = "album/" + segment_200;
  const std::string path = signed_put_path(*client, name);
  ASSERT_FALSE(path.empty()) << "a 200-byte segment was refused";
  auto put = client->Put(path.c_str(), std::string(1000, 'x'), "audio/wav");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(object_bytes(server, name), std::string(1000, 'x'));
}

// ---- shutdown ----------------------------------------------------------------------------------------

TEST_F(Edge, SigtermDuringALongJobDrainsWithinGrace) {
  // 20 minutes of tone as FLAC (about 50 MB) mastered to MP3: the encoder makes the job long (about 17 s on a
  // 2-core machine), so it is still running at SIGTERM and the grace (default 8 s) has to end it.
  const fs::path input = fixtures_ / "long.flac";
  ASSERT_TRUE(make_tone(input, 1200.0));
  ServerProcess server;  // default --shutdown-grace-seconds
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  {
    const std::string path = signed_put_path(*server.client(), "long.flac");
    ASSERT_FALSE(path.empty());
    auto put = put_file_streamed(*server.client(), path, input);
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 200) << put->body;
  }
  auto job = std::async(std::launch::async, [&server] {
    auto res = post_json(*server.client(120), "/api/master-audio",
                         {{"fileName", "long.flac"}, {"settings", {{"outputFormat", "mp3"}}}});
    return res ? std::make_pair(res->status, res->body) : std::make_pair(-1, std::string("no response"));
  });
  ASSERT_TRUE(eventually([&] { return server.log().find("\"message\":\"job started\"") != std::string::npos; }, 30s))
      << log_tail(server);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(job.wait_for(0s), std::future_status::timeout)
      << "the job ended before SIGTERM, so this test would prove nothing; make the input longer";

  const auto signalled = Clock::now();
  server.signal(SIGTERM);
  const auto code = server.wait_for_exit(30s);
  const double elapsed = seconds_since(signalled);
  RecordProperty("sigterm_to_exit_s", std::to_string(elapsed));
  ASSERT_TRUE(code.has_value()) << "still running 30 s after SIGTERM\n" << log_tail(server);
  EXPECT_EQ(*code, 0) << log_tail(server);
  EXPECT_LE(elapsed, 8.0 + 1.0) << "SIGTERM to exit, in seconds";

  ASSERT_EQ(job.wait_for(5s), std::future_status::ready);
  const auto [status, body] = job.get();
  RecordProperty("job_status", status);
  EXPECT_TRUE(status == 200 || status == 503) << status << " " << body;
  if (status == 503) expect_json_error(status, body, 503);
  EXPECT_TRUE(leftover_temp_files(server).empty()) << joined(leftover_temp_files(server));
  const fs::path mastered = object_path(server, "long_mastered.mp3");
  if (fs::exists(mastered)) {
    EXPECT_EQ(status, 200) << "a mastered object exists although the job was not reported done";
    const auto duration = duration_seconds(mastered);
    ASSERT_TRUE(duration.has_value()) << "the mastered object does not decode";
    EXPECT_NEAR(*duration, 1200.0, 1.0) << "a partial mastered object";
  } else {
    EXPECT_NE(status, 200) << "200 but no mastered object";
  }
}

// ---- large input -------------------------------------------------------------------------------------

TEST_F(Edge, TwentyMinute48kWavMastersWithDefaultLimits) {
  // 1200 s * 48000 * 2 channels * 2 bytes = 230,400,000 bytes of samples: over the old 200 MiB upload limit,
  // under the new 256 MiB default, at the 1200 s duration limit.
  const fs::path input = fixtures_ / "long.wav";
  const auto [made, output] = run_command(
      "ffmpeg -nostdin -v error -y -f lavfi -i "
      "\"anoisesrc=color=pink:sample_rate=48000:amplitude=0.25:duration=1200:seed=7\" "
      "-ac 2 -c:a pcm_s16le '" +
      input.string() + "'");
  ASSERT_EQ(made, 0) << output;
  const auto input_bytes = fs::file_size(input);
  ASSERT_GE(input_bytes, 230'400'000u);

  ServerProcess server;  // default limits
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client(900);
  const std::string path = signed_put_path(*client, "long/take.wav");
  ASSERT_FALSE(path.empty());
  auto put = put_file_streamed(*client, path, input);
  // A server that refuses the size up front (413) and closes while the body is still being sent shows up
  // here as no response: httplib's send fails before it reads the answer.
  ASSERT_TRUE(put) << "no response to the 230 MB PUT\n" << log_tail(server);
  ASSERT_EQ(put->status, 200) << put->body;
  ASSERT_EQ(fs::file_size(object_path(server, "long/take.wav")), input_bytes);
  fs::remove(input);  // the server's copy is enough; keeps the disk use down

  auto res = post_json(*client, "/api/master-audio", {{"fileName", "long/take.wav"}});
  ASSERT_TRUE(res) << "no response from master-audio\n" << log_tail(server);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = body_of(res);
  EXPECT_EQ(body["success"], true);
  const std::string url = body["masteredUrl"];

  const fs::path mastered = fixtures_ / "mastered.wav";
  auto download = download_to(*client, path_of(url), mastered);
  ASSERT_TRUE(download);
  ASSERT_EQ(download->status, 200) << read_text(mastered).substr(0, 500);
  EXPECT_EQ(fs::file_size(mastered), fs::file_size(object_path(server, body["masteredFileName"])));
  const auto duration = duration_seconds(mastered);
  ASSERT_TRUE(duration.has_value());
  EXPECT_NEAR(*duration, 1200.0, 0.1);
  const auto loudness = measure_loudness(mastered);
  ASSERT_TRUE(loudness.has_value());
  EXPECT_NEAR(loudness->integrated_lufs, -14.0, 1.0);  // the default target
}

// ---- rate limits -------------------------------------------------------------------------------------

TEST_F(Edge, DownloadsHaveTheirOwnRateLimit) {
  // Burst 3 and a token per 10 s for the API: a result must still download after the API bucket is empty.
  ServerProcess server({"--rate-limit", "6:3"});
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  const fs::path tone = fixtures_ / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 1.0));
  const std::string path = signed_put_path(*client, "song.wav");
  ASSERT_FALSE(path.empty());
  auto put = client->Put(path.c_str(), read_text(tone), "audio/wav");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  auto res = post_json(*client, "/api/master-audio", {{"fileName", "song.wav"}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const std::string download = path_of(body_of(res)["masteredUrl"]);

  // Empty the API bucket (bounded: burst 3).
  int api_status = 0;
  for (int i = 0; i < 5 && api_status != 429; ++i) {
    auto api = post_json(*client, "/api/upload-url", {{"fileName", "x.wav"}});
    api_status = api ? api->status : -1;
  }
  ASSERT_EQ(api_status, 429);
  for (int i = 0; i < 3; ++i) {
    auto get = client->Get(download.c_str());
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 200) << "download " << i << ": " << get->body;
  }
  auto still_limited = post_json(*client, "/api/upload-url", {{"fileName", "x.wav"}});
  ASSERT_TRUE(still_limited);
  EXPECT_EQ(still_limited->status, 429) << "the downloads refilled the API bucket?";
}

}  // namespace
}  // namespace spectrum::testing
