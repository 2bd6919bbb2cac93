#include "dsp/fftw_planner.h"

#include <new>

namespace spectrum::dsp {

RealFft::~RealFft() {
  release();
}

void RealFft::release() noexcept {
  const std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  if (forward_plan_ != nullptr) fftwf_destroy_plan(forward_plan_);
  if (inverse_plan_ != nullptr) fftwf_destroy_plan(inverse_plan_);
  fftwf_free(real_);
  fftwf_free(complex_);
  forward_plan_ = inverse_plan_ = nullptr;
  real_ = nullptr;
  complex_ = nullptr;
  size_ = 0;
}

void RealFft::prepare(std::size_t size, Planning planning) {
  if (size == size_ && forward_plan_ != nullptr) return;
  release();
  const std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  real_ = static_cast<float*>(fftwf_malloc(sizeof(float) * size));
  complex_ = static_cast<fftwf_complex*>(fftwf_malloc(sizeof(fftwf_complex) * (size / 2 + 1)));
  if (real_ == nullptr || complex_ == nullptr) throw std::bad_alloc();
  const int n = static_cast<int>(size);
  const unsigned flags = planning == Planning::kMeasure ? FFTW_MEASURE : FFTW_ESTIMATE;
  forward_plan_ = fftwf_plan_dft_r2c_1d(n, real_, complex_, flags);
  inverse_plan_ = fftwf_plan_dft_c2r_1d(n, complex_, real_, flags);
  if (forward_plan_ == nullptr || inverse_plan_ == nullptr) throw std::bad_alloc();
  size_ = size;
  for (std::size_t i = 0; i < size; ++i) real_[i] = 0.0F;
}

void RealFft::forward() const noexcept {
  fftwf_execute_dft_r2c(forward_plan_, real_, complex_);
}

// c2r destroys its input; callers refill the spectrum before every inverse.
void RealFft::inverse() const noexcept {
  fftwf_execute_dft_c2r(inverse_plan_, complex_, real_);
}

}  // namespace spectrum::dsp
