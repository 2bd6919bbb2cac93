// TrialSections: the windows a lossy output's trial encode uses are the right frames of the stream.
#include "mastering/codec_trial.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace spectrum::mastering {
namespace {

constexpr double kRate = 1000.0;  // 1.5 s windows of 1500 frames, 1 s of warm-up

// Frame n carries n / 1e6 (so each frame is identifiable), except one spike per listed window.
std::vector<float> ramp_with_spikes(std::size_t frames, const std::vector<std::size_t>& spike_frames) {
  std::vector<float> x(frames);
  for (std::size_t n = 0; n < frames; ++n) x[n] = static_cast<float>(static_cast<double>(n) * 1e-6);
  for (std::size_t s : spike_frames) x[s] = 0.5F + static_cast<float>(s) * 1e-6F;
  return x;
}

TrialSections collect(const std::vector<float>& x, std::size_t block) {
  TrialSections sections;
  sections.prepare(ProcessSpec{kRate, block, 1});
  std::vector<float> copy = x;
  for (std::size_t pos = 0; pos < copy.size(); pos += block) {
    float* channel = copy.data() + pos;
    sections.process(AudioBlock(&channel, 1, std::min(block, copy.size() - pos)));
  }
  sections.finish();
  return sections;
}

// The section's frame i (after the warm-up) is the stream's frame start + i, and the warm-up is the frames
// before it (zeros before the stream began).
void expect_window(const TrialSections& sections, const TrialSections::Section& s, const std::vector<float>& x,
                   std::size_t start) {
  const std::size_t warm = sections.warm_up_frames();
  ASSERT_GT(s.frames, 0u);
  for (std::size_t i = 0; i < warm + s.frames; ++i) {
    const long n = static_cast<long>(start + i) - static_cast<long>(warm);
    const float expected = n < 0 ? 0.0F : x[static_cast<std::size_t>(n)];
    ASSERT_EQ(s.audio[0][i], expected) << "slot frame " << i << " of the window at " << start;
  }
}

TEST(TrialSectionsTest, KeepsTheLoudestWindowsTheFirstAndTheLast) {
  const std::size_t window = 1500;
  const std::size_t frames = 20 * window + 700;  // a short last window
  // Spikes in windows 3, 7, 8, 11, 13, 15, 17 (seven: one more than the six kept; window 3's is the weakest).
  const std::vector<std::size_t> spikes = {3 * window + 10,   7 * window + 5,  8 * window + 1499, 11 * window,
                                           13 * window + 700, 15 * window + 3, 17 * window + 1200};
  std::vector<float> x = ramp_with_spikes(frames, spikes);
  x[3 * window + 10] = 0.1F;
  for (const std::size_t block : {std::size_t{4096}, std::size_t{333}, std::size_t{1}}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const TrialSections sections = collect(x, block);
    expect_window(sections, sections.first(), x, 0);
    EXPECT_EQ(sections.first().frames, window);
    expect_window(sections, sections.last(), x, 20 * window);
    EXPECT_EQ(sections.last().frames, 700u);
    std::vector<std::size_t> kept;
    for (const auto& s : sections.sections()) {
      ASSERT_GT(s.peak, 0.4F);
      const std::size_t w = static_cast<std::size_t>(std::lround((s.peak - 0.5F) * 1e6F)) / window;
      expect_window(sections, s, x, w * window);
      kept.push_back(w);
    }
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(kept, (std::vector<std::size_t>{7, 8, 11, 13, 15, 17}));
  }
}

}  // namespace
}  // namespace spectrum::mastering
