// Admission control for mastering jobs: at most max_running at once and max_waiting queued behind them.
// Anything beyond is refused at once, so memory is bounded by the slots, not by how many requests arrive.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace spectrum::server {

class JobAdmission {
 public:
  enum class Outcome { kAdmitted, kOverCapacity, kShuttingDown };

  JobAdmission(int max_running, int max_waiting) : max_running_(max_running), max_waiting_(max_waiting) {}

  // Blocks while queued. kAdmitted means the caller holds a slot and must call release() exactly once.
  Outcome acquire();
  void release();

  // From now on acquire() refuses, and queued callers wake up with kShuttingDown. Running jobs continue.
  void drain();
  // True when no job runs any more; false if `deadline` passed first.
  bool wait_until_idle(std::chrono::steady_clock::time_point deadline);

  [[nodiscard]] int running() const;
  [[nodiscard]] int waiting() const;
  [[nodiscard]] bool draining() const;

 private:
  const int max_running_;
  const int max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable slot_freed_;
  int running_ = 0;
  int waiting_ = 0;
  bool draining_ = false;
};

// Holds a slot for one scope.
class JobSlot {
 public:
  explicit JobSlot(JobAdmission& admission) : admission_(admission) {}
  JobSlot(const JobSlot&) = delete;
  JobSlot& operator=(const JobSlot&) = delete;
  ~JobSlot() { admission_.release(); }

 private:
  JobAdmission& admission_;
};

}  // namespace spectrum::server
