#include "rentmesh/common/work_pool.h"

#include "absl/time/clock.h"

namespace rentmesh {

WorkPool::WorkPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkPool::~WorkPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) t.join();
}

bool WorkPool::TrySubmit(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queued_) return false;
  queue_.push_back({std::move(fn), absl::Now()});
  return true;
}

absl::Duration WorkPool::OldestQueuedWait() const {
  absl::MutexLock lock(&mu_);
  if (queue_.empty()) return absl::ZeroDuration();
  return absl::Now() - queue_.front().queued_at;
}

size_t WorkPool::InFlight() const {
  absl::MutexLock lock(&mu_);
  return queue_.size() + running_;
}

void WorkPool::Loop() {
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkPool* p)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping and drained
      fn = std::move(queue_.front().fn);
      queue_.pop_front();
      ++running_;
    }
    fn();
    absl::MutexLock lock(&mu_);
    --running_;
  }
}

}  // namespace rentmesh
