// The edge in-process, over a real loopback socket: a streamed body goes out as the producer writes it, and
// while the producer is quiet the edge sends the route's heartbeat.
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

#include "server/http_edge.h"

namespace spectrum::server {
namespace {

using namespace std::chrono_literals;

TEST(HttpEdgeStream, ChunksGoOutAsWrittenAndHeartbeatsFillTheSilence) {
  Route route{"GET",
              "/stream",
              false,
              true,
              0,
              [](const HttpRequest&) {
                HttpResponse response;
                response.set_header("Content-Type", "text/event-stream");
                response.heartbeat = ": hb\n\n";
                response.heartbeat_interval = 100ms;
                response.stream = [](StreamWriter& writer) {
                  writer.write("data: first\n\n");
                  std::this_thread::sleep_for(650ms);  // quiet: about six heartbeats
                  writer.write("data: second\n\n");
                };
                return response;
              },
              {}};
  HttpEdge edge(EdgeLimits{}, {route}, {});
  const auto port = edge.bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread loop([&] { edge.run(); });

  httplib::Client client("127.0.0.1", *port);
  std::string body;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> pieces;
  auto response = client.Get("/stream", [&](const char* data, std::size_t size) {
    pieces.emplace_back(std::chrono::steady_clock::now(), std::string(data, size));
    body.append(data, size);
    return true;
  });
  edge.stop();
  loop.join();

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Transfer-Encoding"), "chunked");
  const auto first = body.find("data: first");
  const auto second = body.find("data: second");
  ASSERT_NE(first, std::string::npos) << body;
  ASSERT_NE(second, std::string::npos) << body;
  int heartbeats = 0;
  for (auto at = body.find(": hb", first); at != std::string::npos && at < second; at = body.find(": hb", at + 1)) {
    ++heartbeats;
  }
  EXPECT_GE(heartbeats, 3) << body;
  EXPECT_LE(heartbeats, 8) << body;
  // The first piece arrived well before the last: streamed, not buffered until the end.
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_GT(pieces.back().first - pieces.front().first, 500ms);
}

}  // namespace
}  // namespace spectrum::server
