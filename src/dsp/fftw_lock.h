// FFTW's planner (plan creation and destruction) is not thread-safe; fftwf_execute is. Every plan in the
// project is created and destroyed under this one mutex.
#pragma once

#include <mutex>

namespace spectrum::dsp {

inline std::mutex& fftw_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace spectrum::dsp
