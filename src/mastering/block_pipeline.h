// Two-stage pipelining of a pass: the calling thread reads blocks from a FrameSource (decoding and processing
// happen there), a worker thread hands them to the sink (metering, encoding, storing). On a two-core machine
// the two halves of every pass overlap. Blocks travel through a small ring of buffers allocated once per pass.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/audio_block.h"
#include "common/status.h"
#include "mastering/frame_source.h"

namespace spectrum::mastering {

// Runs `fn() -> Status` and returns an exception it throws as an error (a meter that grows may run out of
// memory), so neither thread of a pass can end the process.
template <class Fn>
Status status_of(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kInternal, "out of memory");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, e.what());
  }
}

// Reads `source` from its start to its end and calls `sink(const AudioBlock&) -> Status` for every block,
// in order, on a worker thread. `on_progress(frames_done)` runs on the calling thread. The first error from
// either side, or an exception from either, stops the pass and is returned.
template <class Sink, class OnProgress>
Status pipelined_pass(FrameSource& source, int channels, std::size_t block_frames, Sink&& sink,
                      OnProgress&& on_progress) {
  constexpr std::size_t kRing = 4;
  SPECTRUM_TRY(source.rewind());
  std::vector<AudioBuffer> ring;
  ring.reserve(kRing);
  for (std::size_t i = 0; i < kRing; ++i) ring.emplace_back(channels, block_frames);

  std::mutex mutex;
  std::condition_variable changed;
  std::size_t produced = 0;  // blocks filled so far
  std::size_t consumed = 0;  // blocks handed to the sink so far
  bool finished = false;     // the producer has no more blocks
  std::optional<Error> sink_error;

  std::thread consumer([&] {
    for (;;) {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return consumed < produced || finished; });
      if (consumed == produced) return;  // finished and drained
      AudioBuffer& buffer = ring[consumed % kRing];
      lock.unlock();
      Status status = status_of([&] { return sink(static_cast<const AudioBlock&>(buffer.block())); });
      lock.lock();
      ++consumed;
      if (!status) {
        sink_error = std::move(status).error();
        changed.notify_all();
        return;
      }
      changed.notify_all();
    }
  });

  Status result;
  std::int64_t frames_done = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return produced - consumed < kRing || sink_error; });
      if (sink_error) break;
    }
    AudioBuffer& buffer = ring[produced % kRing];
    std::size_t read = 0;
    result = status_of([&]() -> Status {
      auto n = source.read(buffer);
      if (!n) return std::move(n).error();
      read = *n;
      return {};
    });
    if (!result.ok() || read == 0) break;
    frames_done += static_cast<std::int64_t>(read);
    {
      std::lock_guard lock(mutex);
      ++produced;
    }
    changed.notify_all();
    result = status_of([&] {
      on_progress(frames_done);
      return Status{};
    });
    if (!result.ok()) break;
  }
  {
    std::lock_guard lock(mutex);
    finished = true;
  }
  changed.notify_all();
  consumer.join();
  if (!result.ok()) return result;
  if (sink_error) return std::move(*sink_error);
  return {};
}

}  // namespace spectrum::mastering
