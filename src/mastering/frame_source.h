// Re-readable streams of planar audio, so the engine can make several passes over a track without holding it
// whole when it is long: a decoder (re-decodes on rewind), an in-memory track (for tracks that fit the cache
// budget), and a processor applied to another source with its latency compensated.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "audio/decoder.h"
#include "common/audio_block.h"
#include "common/status.h"

namespace spectrum::mastering {

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Fills `buffer` (sized by the caller to channels x capacity) from the current position; returns the number
  // of frames, 0 at the end.
  virtual Expected<std::size_t> read(AudioBuffer& buffer) = 0;
  virtual Status rewind() = 0;
};

// Decodes; enforces the duration limit and the cancel flag while reading.
class DecoderSource final : public FrameSource {
 public:
  DecoderSource(audio::Decoder& decoder, std::int64_t max_frames, const std::atomic<bool>* cancel)
      : decoder_(decoder), max_frames_(max_frames), cancel_(cancel) {}
  Expected<std::size_t> read(AudioBuffer& buffer) override;
  Status rewind() override;

 private:
  audio::Decoder& decoder_;
  std::int64_t max_frames_;  // 0 = unlimited
  const std::atomic<bool>* cancel_;
  std::int64_t position_ = 0;
};

// A whole track in memory, in fixed-size chunks (no reallocation spikes while it grows).
class MemoryTrack final : public FrameSource {
 public:
  explicit MemoryTrack(int channels) : channels_(channels) {}
  void append(const AudioBlock& block);
  // Overwrites frames from the write cursor on (used to process the track in place).
  void overwrite(const AudioBlock& block) noexcept;
  void rewind_writer() noexcept { write_pos_ = 0; }
  Expected<std::size_t> read(AudioBuffer& buffer) override;
  Status rewind() override {
    read_pos_ = 0;
    return {};
  }
  [[nodiscard]] std::int64_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::size_t bytes() const noexcept;

 private:
  static constexpr std::size_t kChunkFrames = 1 << 16;
  template <class Fn>
  void for_each_span(std::int64_t start, std::size_t count, Fn&& fn) const;

  int channels_;
  std::vector<std::unique_ptr<float[]>> chunks_[kMaxChannels];
  std::int64_t frames_ = 0;
  std::int64_t read_pos_ = 0;
  std::int64_t write_pos_ = 0;
};

// Reads `upstream` and keeps a copy of what it yields in `cache`, on the reading thread (beside the decoder),
// while the copy stays within `budget_bytes`; past that the cache is dropped (reset to null) and the track
// streams. rewind() starts the copy again.
class CachingSource final : public FrameSource {
 public:
  CachingSource(FrameSource& upstream, std::unique_ptr<MemoryTrack>& cache, int channels, std::size_t budget_bytes)
      : upstream_(upstream), cache_(cache), channels_(channels), budget_bytes_(budget_bytes) {}
  Expected<std::size_t> read(AudioBuffer& buffer) override;
  Status rewind() override;

 private:
  FrameSource& upstream_;
  std::unique_ptr<MemoryTrack>& cache_;
  int channels_;
  std::size_t budget_bytes_;
};

// A block processor with a constant latency (the chain stages implement it).
class BlockProcessor {
 public:
  virtual ~BlockProcessor() = default;
  virtual void reset() noexcept = 0;
  virtual void process(const AudioBlock& block) noexcept = 0;
  [[nodiscard]] virtual int latency_frames() const noexcept = 0;
};

// `processor` applied to `upstream`, time-aligned: the first latency frames are dropped and the tail is
// flushed with silence, so output frame i corresponds to input frame i and the length is unchanged.
class ProcessedSource final : public FrameSource {
 public:
  ProcessedSource(FrameSource& upstream, BlockProcessor& processor) : upstream_(upstream), processor_(processor) {}
  Expected<std::size_t> read(AudioBuffer& buffer) override;
  Status rewind() override;

 private:
  FrameSource& upstream_;
  BlockProcessor& processor_;
  std::int64_t to_skip_ = -1;  // -1: not started
  std::int64_t tail_left_ = 0;
  bool upstream_done_ = false;
};

}  // namespace spectrum::mastering
