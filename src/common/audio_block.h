// Planar float audio: a non-owning view (AudioBlock) and an owning buffer sized once (AudioBuffer).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <vector>

namespace spectrum {

inline constexpr int kMaxChannels = 2;

// Non-owning view over planar samples: channel(c)[i] is frame i of channel c.
class AudioBlock {
 public:
  AudioBlock() = default;
  AudioBlock(float* const* channels, int num_channels, std::size_t num_frames) noexcept
      : num_channels_(num_channels), num_frames_(num_frames) {
    assert(num_channels >= 0 && num_channels <= kMaxChannels);
    for (int c = 0; c < num_channels; ++c) channels_[static_cast<std::size_t>(c)] = channels[c];
  }

  [[nodiscard]] int num_channels() const noexcept { return num_channels_; }
  [[nodiscard]] std::size_t num_frames() const noexcept { return num_frames_; }
  [[nodiscard]] float* channel(int c) const noexcept { return channels_[static_cast<std::size_t>(c)]; }
  // The channel pointers as an array, for processors that take planar pointers.
  [[nodiscard]] float* const* channels() const noexcept { return channels_.data(); }

  // Frames [offset, offset + count) of this block.
  [[nodiscard]] AudioBlock sub_block(std::size_t offset, std::size_t count) const noexcept {
    assert(offset + count <= num_frames_);
    AudioBlock sub = *this;
    for (int c = 0; c < num_channels_; ++c) sub.channels_[static_cast<std::size_t>(c)] += offset;
    sub.num_frames_ = count;
    return sub;
  }

  void clear() const noexcept {
    for (int c = 0; c < num_channels_; ++c) std::fill_n(channel(c), num_frames_, 0.0F);
  }

  void copy_from(const AudioBlock& other) const noexcept {
    assert(other.num_channels_ == num_channels_ && other.num_frames_ == num_frames_);
    for (int c = 0; c < num_channels_; ++c) std::copy_n(other.channel(c), num_frames_, channel(c));
  }

 private:
  std::array<float*, kMaxChannels> channels_{};
  int num_channels_ = 0;
  std::size_t num_frames_ = 0;
};

// Owning planar buffer; memory is allocated on construction or resize, never while processing.
class AudioBuffer {
 public:
  AudioBuffer() = default;
  AudioBuffer(int num_channels, std::size_t capacity_frames) { resize(num_channels, capacity_frames); }

  void resize(int num_channels, std::size_t capacity_frames) {
    assert(num_channels >= 0 && num_channels <= kMaxChannels);
    num_channels_ = num_channels;
    capacity_ = capacity_frames;
    for (auto& ch : data_) ch.clear();
    for (int c = 0; c < num_channels; ++c) data_[static_cast<std::size_t>(c)].assign(capacity_frames, 0.0F);
    set_num_frames(capacity_frames);
  }

  // Frames in use (at most the capacity).
  void set_num_frames(std::size_t n) noexcept {
    assert(n <= capacity_);
    num_frames_ = n;
  }

  [[nodiscard]] int num_channels() const noexcept { return num_channels_; }
  [[nodiscard]] std::size_t num_frames() const noexcept { return num_frames_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] float* channel(int c) noexcept { return data_[static_cast<std::size_t>(c)].data(); }
  [[nodiscard]] const float* channel(int c) const noexcept { return data_[static_cast<std::size_t>(c)].data(); }

  [[nodiscard]] AudioBlock block() noexcept {
    std::array<float*, kMaxChannels> ptrs{};
    for (int c = 0; c < num_channels_; ++c) ptrs[static_cast<std::size_t>(c)] = channel(c);
    return {ptrs.data(), num_channels_, num_frames_};
  }

 private:
  std::array<std::vector<float>, kMaxChannels> data_;
  int num_channels_ = 0;
  std::size_t capacity_ = 0;
  std::size_t num_frames_ = 0;
};

// What a processor is prepared for: JUCE's ProcessSpec.
struct ProcessSpec {
  double sample_rate_hz = 48000.0;
  std::size_t max_block_frames = 4096;
  int num_channels = 2;
};

}  // namespace spectrum
