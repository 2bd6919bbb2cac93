#include "server/admission.h"

namespace spectrum::server {

JobAdmission::Outcome JobAdmission::acquire() {
  std::unique_lock lock(mutex_);
  if (draining_) return Outcome::kShuttingDown;
  if (running_ < max_running_ && waiting_ == 0) {
    ++running_;
    return Outcome::kAdmitted;
  }
  if (waiting_ >= max_waiting_) return Outcome::kOverCapacity;
  ++waiting_;
  slot_freed_.wait(lock, [&] { return draining_ || running_ < max_running_; });
  --waiting_;
  if (draining_) {
    slot_freed_.notify_all();  // wait_until_idle may be watching the counts
    return Outcome::kShuttingDown;
  }
  ++running_;
  return Outcome::kAdmitted;
}

void JobAdmission::release() {
  {
    const std::lock_guard lock(mutex_);
    --running_;
  }
  slot_freed_.notify_all();
}

void JobAdmission::drain() {
  {
    const std::lock_guard lock(mutex_);
    draining_ = true;
  }
  slot_freed_.notify_all();
}

bool JobAdmission::wait_until_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return slot_freed_.wait_until(lock, deadline, [&] { return running_ == 0; });
}

int JobAdmission::running() const {
  const std::lock_guard lock(mutex_);
  return running_;
}

int JobAdmission::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiting_;
}

bool JobAdmission::draining() const {
  const std::lock_guard lock(mutex_);
  return draining_;
}

}  // namespace spectrum::server
