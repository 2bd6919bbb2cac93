// POST /api/master-audio as server-sent events, read by curl as it arrives: the stages in order while the job
// runs, then a result event that carries what the plain request answers. Errors before the job starts stay
// plain HTTP answers.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"

namespace spectrum::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Event {
  std::string name;
  json data;
  double at_s = 0.0;  // when its data line arrived, from the request's start
};

struct Stream {
  std::string headers;
  std::vector<Event> events;
  int comments = 0;
};

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// curl -N prints each line as it arrives; every line is timed here, on arrival.
Stream post_event_stream(int port, const std::string& body, const fs::path& dir) {
  const fs::path body_file = dir / "request.json";
  const fs::path header_file = dir / "headers.txt";
  std::ofstream(body_file) << body;
  const std::string command =
      "curl -sN --max-time 300 -H 'Accept: text/event-stream' -H 'Content-Type: "
      "application/json' --data-binary @" +
      shell_quote(body_file.string()) + " -D " + shell_quote(header_file.string()) +
      " http://127.0.0.1:" + std::to_string(port) + "/api/master-audio";
  Stream stream;
  const auto start = Clock::now();
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return stream;
  std::string name;
  char line[1 << 16];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const double at = std::chrono::duration<double>(Clock::now() - start).count();
    if (text.rfind(':', 0) == 0) ++stream.comments;
    if (text.rfind("event: ", 0) == 0) name = text.substr(7);
    if (text.rfind("data: ", 0) == 0) stream.events.push_back({name, json::parse(text.substr(6), nullptr, false), at});
  }
  ::pclose(pipe);
  stream.headers = read_text(header_file);
  return stream;
}

// The answer without what differs from run to run: the job's id and time, and the signing time, which sets
// masteredUrl's expires= and signature= and expiresAt (compared apart, to the second).
json without_run_specifics(json answer) {
  answer.erase("jobId");
  answer.erase("processingTime");
  answer.erase("expiresAt");
  if (answer.contains("masteredUrl")) {
    const std::string url = answer["masteredUrl"];
    answer["masteredUrl"] = url.substr(0, url.find("expires="));
  }
  return answer;
}

long long expires_of(const json& answer) {
  const std::string url = answer.at("masteredUrl");
  return std::atoll(url.c_str() + url.find("expires=") + 8);
}

TEST(EventStream, StagesArriveInOrderWhileTheJobRunsAndTheResultIsThePlainAnswer) {
  const fs::path dir = make_temp_dir("spectrum-it-sse");
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  auto client = server.client();
  client->set_read_timeout(std::chrono::seconds(300));
  const fs::path tone = dir / "tone.wav";
  ASSERT_TRUE(make_tone(tone, 90.0));
  ASSERT_TRUE(upload_file(*client, "sse/tone.wav", tone));

  // MP3, so the job has every stage: download, analyse, master (its passes), encode, verify, upload.
  const json request = {{"fileName", "sse/tone.wav"}, {"settings", {{"outputFormat", "mp3"}}}};
  const Stream stream = post_event_stream(server.port(), request.dump(), dir);
  EXPECT_NE(stream.headers.find("Content-Type: text/event-stream"), std::string::npos) << stream.headers;
  EXPECT_NE(stream.headers.find("Transfer-Encoding: chunked"), std::string::npos) << stream.headers;
  EXPECT_NE(stream.headers.find("X-Accel-Buffering: no"), std::string::npos) << stream.headers;
  ASSERT_GE(stream.events.size(), 3u) << stream.headers << server.log();
  EXPECT_EQ(stream.events.front().name, "job");
  ASSERT_EQ(stream.events.back().name, "result");

  // Every stage starts after the previous one ended, in the documented order; master reports its passes.
  std::vector<std::string> started;
  std::string open;
  bool saw_pass = false;
  double first_stage_s = -1.0;
  for (const Event& event : stream.events) {
    if (event.name != "stage") continue;
    const std::string stage = event.data.at("stage");
    const std::string state = event.data.at("state");
    EXPECT_TRUE(event.data.at("elapsed").is_number());
    if (first_stage_s < 0) first_stage_s = event.at_s;
    if (state == "start") {
      EXPECT_TRUE(open.empty()) << stage << " started while " << open << " was running";
      open = stage;
      if (started.empty() || started.back() != stage) started.push_back(stage);
      if (stage == "master" && event.data.value("pass", 0) >= 1) saw_pass = true;
    } else if (state == "end") {
      EXPECT_EQ(open, stage);
      open.clear();
    } else {
      EXPECT_EQ(state, "progress");
      const double fraction = event.data.at("fraction");
      EXPECT_GE(fraction, 0.0);
      EXPECT_LE(fraction, 1.0);
    }
  }
  EXPECT_EQ(started, (std::vector<std::string>{"download", "analyse", "master", "encode", "verify", "upload"}));
  EXPECT_TRUE(saw_pass) << "master never named its loudness pass";
  // The stages arrive while the job runs, not all at the end.
  const double result_s = stream.events.back().at_s;
  std::cout << "[ MEASURED ] first stage event at " << first_stage_s << " s, result at " << result_s << " s\n";
  EXPECT_LT(first_stage_s, result_s - 0.3);

  // The result event's data is the plain request's answer, run for run.
  const json streamed = stream.events.back().data;
  ASSERT_EQ(streamed.value("success", false), true) << streamed.dump();
  auto plain = client->Post("/api/master-audio", request.dump(), "application/json");
  ASSERT_TRUE(plain && plain->status == 200);
  const json plain_answer = json::parse(plain->body);
  EXPECT_EQ(without_run_specifics(streamed), without_run_specifics(plain_answer));
  // Signed a few seconds apart, for the same lifetime.
  EXPECT_NEAR(static_cast<double>(expires_of(streamed)), static_cast<double>(expires_of(plain_answer)), 60.0);
  fs::remove_all(dir);
}

TEST(EventStream, ErrorsBeforeTheJobAreStillPlainAnswers) {
  const fs::path dir = make_temp_dir("spectrum-it-sse");
  ServerProcess server;
  ASSERT_TRUE(server.wait_until_ready()) << server.log();
  const Stream missing = post_event_stream(server.port(), R"({"fileName":"sse/absent.wav"})", dir);
  EXPECT_NE(missing.headers.find("HTTP/1.1 404"), std::string::npos) << missing.headers;
  EXPECT_NE(missing.headers.find("Content-Type: application/json"), std::string::npos) << missing.headers;
  const Stream invalid = post_event_stream(server.port(), R"({"fileName":"a.wav","settings":{"preset":"x"}})", dir);
  EXPECT_NE(invalid.headers.find("HTTP/1.1 400"), std::string::npos) << invalid.headers;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spectrum::testing
