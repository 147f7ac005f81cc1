#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace rentmesh::view {

// A position in one stream, as named by a consistency token ("RENTAL:42").
struct StreamSequence {
  std::string stream;
  uint64_t sequence = 0;
};

// How far the projection has applied each stream it follows, and the callers
// waiting for a position (read-your-writes). Waiting never holds a thread:
// a waiter is a callback run when its positions are applied, or with
// DEADLINE_EXCEEDED by the one timer thread owned here. Thread-safe.
class AppliedPositions {
 public:
  using Done = std::function<void(absl::Status)>;

  // `initial`: every followed stream with its stored position.
  explicit AppliedPositions(const std::map<std::string, uint64_t>& initial);
  // Fails the waiters left with UNAVAILABLE.
  ~AppliedPositions();
  AppliedPositions(const AppliedPositions&) = delete;
  AppliedPositions& operator=(const AppliedPositions&) = delete;

  // INVALID_ARGUMENT when a position names a stream that is not followed.
  absl::Status Validate(const std::vector<StreamSequence>& positions) const;
  // 0 for a stream that is not followed.
  uint64_t Applied(absl::string_view stream) const;
  // Records that `stream` is applied up to `sequence` (never moves back) and
  // runs the waiters this satisfies, on the calling thread.
  void Advance(absl::string_view stream, uint64_t sequence);

  // Calls `done` exactly once: OK when every position is applied (at once, on
  // this thread, if already so), DEADLINE_EXCEEDED at `deadline`, UNAVAILABLE
  // at destruction. `positions` must be valid (see Validate). `done` must not
  // block: it runs on the applying or the timer thread.
  void WhenApplied(std::vector<StreamSequence> positions, absl::Time deadline, Done done);
  // The blocking form, for callers that own their thread.
  absl::Status WaitApplied(std::vector<StreamSequence> positions, absl::Time deadline);

 private:
  struct Waiter {
    std::vector<StreamSequence> positions;
    absl::Time deadline;
    Done done;
  };
  bool ReachedLocked(const std::vector<StreamSequence>& positions) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string LagLocked(const std::vector<StreamSequence>& positions) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TimerLoop();

  mutable absl::Mutex mu_;
  std::map<std::string, uint64_t, std::less<>> applied_ ABSL_GUARDED_BY(mu_);
  std::list<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  // Bumped whenever a waiter is added, so the timer re-reads the next deadline.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread timer_;
};

}  // namespace rentmesh::view
