// The HTTP worker pool: a fixed number of threads and a bounded queue of accepted connections.
// When the queue is full, enqueue() blocks the accept loop, so further connections wait in the
// kernel's backlog instead of in our memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace spectrum::server {

class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(std::size_t threads, std::size_t capacity);
  ~BoundedTaskQueue() override;

  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then joins the threads.
  void shutdown() override;

 private:
  void work();

  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::deque<std::function<void()>> tasks_;
  bool shutting_down_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace spectrum::server
