// Threads for the handlers that wait (a mastering job, a storage call), so the edge's event loop never does.
// The queue is bounded: when it is full, try_post() refuses and the edge answers 503 at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spectrum::server {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t queue_capacity);
  ~WorkerPool();  // runs what is queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when every thread is busy and the queue is full (or the pool is shutting down).
  bool try_post(std::function<void()> task);

 private:
  void work();

  const std::size_t threads_count_;
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable has_work_;
  std::deque<std::function<void()>> tasks_;
  std::size_t busy_ = 0;
  bool shutting_down_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace spectrum::server
