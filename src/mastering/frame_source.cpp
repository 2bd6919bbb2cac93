#include "mastering/frame_source.h"

#include <algorithm>
#include <cstring>

namespace spectrum::mastering {

Expected<std::size_t> DecoderSource::read(AudioBuffer& buffer) {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
    return make_error(ErrorCode::kCancelled, "the job was cancelled");
  }
  auto n = decoder_.read(buffer);
  if (!n) return n;
  position_ += static_cast<std::int64_t>(*n);
  if (max_frames_ > 0 && position_ > max_frames_) {
    const double limit_s = static_cast<double>(max_frames_) / decoder_.info().sample_rate_hz;
    return make_error(ErrorCode::kTooLarge, "input is longer than the " +
                                                std::to_string(static_cast<long long>(limit_s)) + " s duration limit");
  }
  return n;
}

Status DecoderSource::rewind() {
  position_ = 0;
  return decoder_.rewind();
}

template <class Fn>
void MemoryTrack::for_each_span(std::int64_t start, std::size_t count, Fn&& fn) const {
  std::size_t done = 0;
  while (done < count) {
    const auto pos = static_cast<std::size_t>(start) + done;
    const std::size_t chunk = pos / kChunkFrames;
    const std::size_t offset = pos % kChunkFrames;
    const std::size_t n = std::min(count - done, kChunkFrames - offset);
    fn(chunk, offset, done, n);
    done += n;
  }
}

void MemoryTrack::append(const AudioBlock& block) {
  const std::size_t needed_chunks =
      (static_cast<std::size_t>(frames_) + block.num_frames() + kChunkFrames - 1) / kChunkFrames;
  for (int c = 0; c < channels_; ++c) {
    auto& chunks = chunks_[c];
    while (chunks.size() < needed_chunks) chunks.push_back(std::make_unique_for_overwrite<float[]>(kChunkFrames));
  }
  for_each_span(frames_, block.num_frames(),
                [&](std::size_t chunk, std::size_t offset, std::size_t from, std::size_t n) {
                  for (int c = 0; c < channels_; ++c)
                    std::memcpy(chunks_[c][chunk].get() + offset, block.channel(c) + from, n * sizeof(float));
                });
  frames_ += static_cast<std::int64_t>(block.num_frames());
}

void MemoryTrack::overwrite(const AudioBlock& block) noexcept {
  const std::size_t n_total = std::min<std::size_t>(block.num_frames(), static_cast<std::size_t>(frames_ - write_pos_));
  for_each_span(write_pos_, n_total, [&](std::size_t chunk, std::size_t offset, std::size_t from, std::size_t n) {
    for (int c = 0; c < channels_; ++c)
      std::memcpy(chunks_[c][chunk].get() + offset, block.channel(c) + from, n * sizeof(float));
  });
  write_pos_ += static_cast<std::int64_t>(n_total);
}

Expected<std::size_t> MemoryTrack::read(AudioBuffer& buffer) {
  const auto n_total = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(buffer.capacity()), frames_ - read_pos_));
  for_each_span(read_pos_, n_total, [&](std::size_t chunk, std::size_t offset, std::size_t to, std::size_t n) {
    for (int c = 0; c < channels_; ++c)
      std::memcpy(buffer.channel(c) + to, chunks_[c][chunk].get() + offset, n * sizeof(float));
  });
  read_pos_ += static_cast<std::int64_t>(n_total);
  buffer.set_num_frames(n_total);
  return n_total;
}

std::size_t MemoryTrack::bytes() const noexcept {
  std::size_t chunks = 0;
  for (int c = 0; c < channels_; ++c) chunks += chunks_[c].size();
  return chunks * kChunkFrames * sizeof(float);
}

Expected<std::size_t> CachingSource::read(AudioBuffer& buffer) {
  auto n = upstream_.read(buffer);
  if (n && *n > 0 && cache_) {
    cache_->append(buffer.block());
    if (cache_->bytes() > budget_bytes_) cache_.reset();  // too long: stream instead
  }
  return n;
}

Status CachingSource::rewind() {
  if (cache_) cache_ = std::make_unique<MemoryTrack>(channels_);
  return upstream_.rewind();
}

Expected<std::size_t> ProcessedSource::read(AudioBuffer& buffer) {
  if (to_skip_ < 0) {
    to_skip_ = processor_.latency_frames();
    tail_left_ = processor_.latency_frames();
  }
  for (;;) {
    std::size_t n = 0;
    if (!upstream_done_) {
      auto got = upstream_.read(buffer);
      if (!got) return got;
      n = *got;
      upstream_done_ = (n == 0);
    }
    if (upstream_done_) {  // flush the processor's delay line with silence
      n = static_cast<std::size_t>(std::min<std::int64_t>(tail_left_, static_cast<std::int64_t>(buffer.capacity())));
      if (n == 0) {
        buffer.set_num_frames(0);
        return std::size_t{0};
      }
      buffer.set_num_frames(n);
      buffer.block().clear();
      tail_left_ -= static_cast<std::int64_t>(n);
    }
    processor_.process(buffer.block());
    const auto skip = static_cast<std::size_t>(std::min<std::int64_t>(to_skip_, static_cast<std::int64_t>(n)));
    to_skip_ -= static_cast<std::int64_t>(skip);
    if (skip == n) continue;  // everything so far was the processor's start-up delay
    if (skip > 0) {
      for (int c = 0; c < buffer.num_channels(); ++c)
        std::memmove(buffer.channel(c), buffer.channel(c) + skip, (n - skip) * sizeof(float));
    }
    buffer.set_num_frames(n - skip);
    return n - skip;
  }
}

Status ProcessedSource::rewind() {
  processor_.reset();
  to_skip_ = -1;
  upstream_done_ = false;
  return upstream_.rewind();
}

}  // namespace spectrum::mastering
