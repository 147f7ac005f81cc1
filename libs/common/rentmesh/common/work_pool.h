#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rentmesh {

// A fixed set of threads that run blocking work (JetStream publishes, calls to
// other services) so gRPC's callback threads never wait on a round trip.
// The queue is bounded: TrySubmit refuses work beyond `max_queued`, which the
// caller turns into RESOURCE_EXHAUSTED instead of piling up latency.
class WorkPool {
 public:
  WorkPool(int threads, size_t max_queued);
  ~WorkPool();  // Runs what is queued, then joins.
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when the queue is full or the pool is stopping; `fn` is then not run.
  bool TrySubmit(std::function<void()> fn);

  // Tasks queued or running.
  size_t InFlight() const;
  // How long the oldest task still queued (not yet running) has waited; zero
  // when none is queued. A pool that is not draining shows it growing.
  absl::Duration OldestQueuedWait() const;

 private:
  void Loop();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  struct Task {
    std::function<void()> fn;
    absl::Time queued_at;
  };
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace rentmesh
