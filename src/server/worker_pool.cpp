#include "server/worker_pool.h"

namespace spectrum::server {

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_capacity)
    : threads_count_(threads), capacity_(queue_capacity) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    const std::lock_guard lock(mutex_);
    shutting_down_ = true;
  }
  has_work_.notify_all();
  for (auto& thread : threads_) thread.join();
}

bool WorkerPool::try_post(std::function<void()> task) {
  {
    const std::lock_guard lock(mutex_);
    if (shutting_down_) return false;
    // Idle threads take tasks at once; only the excess counts against the queue.
    const std::size_t idle = threads_count_ - busy_;
    if (tasks_.size() >= idle + capacity_) return false;
    tasks_.push_back(std::move(task));
  }
  has_work_.notify_one();
  return true;
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      has_work_.wait(lock, [&] { return !tasks_.empty() || shutting_down_; });
      if (tasks_.empty()) return;  // shutting down with nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
      ++busy_;
    }
    task();
    const std::lock_guard lock(mutex_);
    --busy_;
  }
}

}  // namespace spectrum::server
