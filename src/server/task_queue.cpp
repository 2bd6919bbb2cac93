#include "server/task_queue.h"

namespace spectrum::server {

BoundedTaskQueue::BoundedTaskQueue(std::size_t threads, std::size_t capacity) : capacity_(capacity) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

BoundedTaskQueue::~BoundedTaskQueue() {
  shutdown();
}

void BoundedTaskQueue::enqueue(std::function<void()> fn) {
  {
    std::unique_lock lock(mutex_);
    has_room_.wait(lock, [&] { return tasks_.size() < capacity_ || shutting_down_; });
    tasks_.push_back(std::move(fn));
  }
  has_work_.notify_one();
}

void BoundedTaskQueue::shutdown() {
  {
    const std::lock_guard lock(mutex_);
    if (shutting_down_ && threads_.empty()) return;
    shutting_down_ = true;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

void BoundedTaskQueue::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      has_work_.wait(lock, [&] { return !tasks_.empty() || shutting_down_; });
      if (tasks_.empty()) return;  // shutting down with nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    has_room_.notify_one();
    task();
  }
}

}  // namespace spectrum::server
