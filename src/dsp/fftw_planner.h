// A real FFT whose plans are made and destroyed under the project's one FFTW planner mutex
// (dsp/fftw_lock.h); executing a plan needs no lock.
#pragma once

#include <cstddef>

#include <fftw3.h>

#include "dsp/fftw_lock.h"

namespace spectrum::dsp {

// A real FFT of one size with its own aligned scratch: r2c forward and c2r inverse (unnormalised,
// so inverse(forward(x)) = size * x). Plans are made once in prepare(); execution is lock-free.
class RealFft {
 public:
  RealFft() = default;
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;
  ~RealFft();

  enum class Planning {
    // Heuristic plan in milliseconds, nearly as fast as a measured one at our sizes: the default.
    kEstimate,
    // FFTW times candidates, which takes about a second per size (the wisdom is then kept for the
    // process). Worth it only in a long-lived process. Figures: docs/benchmarks.md.
    kMeasure,
  };

  // Allocates the aligned buffers and plans for `size` points (even). Not real-time safe.
  void prepare(std::size_t size, Planning planning = Planning::kEstimate);

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t num_bins() const noexcept { return size_ / 2 + 1; }

  // Aligned buffers owned by this object; forward() reads real_data() and writes complex_data(),
  // inverse() the other way round.
  [[nodiscard]] float* real_data() const noexcept { return real_; }
  [[nodiscard]] fftwf_complex* complex_data() const noexcept { return complex_; }

  void forward() const noexcept;
  void inverse() const noexcept;

 private:
  void release() noexcept;

  std::size_t size_ = 0;
  float* real_ = nullptr;
  fftwf_complex* complex_ = nullptr;
  fftwf_plan forward_plan_ = nullptr;
  fftwf_plan inverse_plan_ = nullptr;
};

}  // namespace spectrum::dsp
