// Wall time of each pass of one mastering run, from the engine's progress stages.
// Usage: spectrum-pass-times IN OUT [runs]   (prints one line per run)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mastering/engine.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN OUT [runs]\n", argv[0]);
    return 2;
  }
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  for (int run = 0; run < runs; ++run) {
    spectrum::mastering::MasterJob job;
    job.input = argv[1];
    job.output = argv[2];
    const Clock::time_point start = Clock::now();
    Clock::time_point stage_start = start;
    std::string stage = "open";
    job.on_progress = [&](const spectrum::mastering::ProgressUpdate& update) {
      const std::string name = std::string(update.stage) + (update.pass > 0 ? std::to_string(update.pass) : "");
      if (name == stage) return;
      const Clock::time_point now = Clock::now();
      std::printf("%s %.3f  ", stage.c_str(), seconds(now - stage_start));
      stage = name;
      stage_start = now;
    };
    const auto report = spectrum::mastering::master_file(job);
    std::printf("| total %.3f s\n", seconds(Clock::now() - start));
    if (!report) {
      std::fprintf(stderr, "%s\n", report.error().message.c_str());
      return 1;
    }
  }
  return 0;
}
