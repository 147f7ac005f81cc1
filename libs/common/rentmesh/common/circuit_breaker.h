#pragma once

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rentmesh/common/clock.h"

namespace rentmesh {

// A circuit breaker for calls to one dependency (the fallback the seeds ask
// for outside a mesh; inside Istio, outlier detection does the same per pod).
// Closed: calls go through; `failure_threshold` consecutive failures open it.
// Open: calls are refused at once for `open_for`. Then half-open: one probe
// call at a time goes through; its success closes the circuit, its failure
// opens it again. Thread-safe.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Options {
    int failure_threshold = 5;
    absl::Duration open_for = absl::Seconds(5);
  };

  CircuitBreaker(Options options, const Clock& clock) : options_(options), clock_(clock) {}

  // Whether a call may go now. In half-open, true for one caller until it
  // records its result.
  bool Allow() {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kOpen && clock_.Now() - opened_at_ >= options_.open_for) {
      state_ = State::kHalfOpen;
      probe_in_flight_ = false;
    }
    switch (state_) {
      case State::kClosed:
        return true;
      case State::kOpen:
        return false;
      case State::kHalfOpen:
        if (probe_in_flight_) return false;
        probe_in_flight_ = true;
        return true;
    }
    return false;
  }

  // Whether a call would be allowed, without taking the half-open probe.
  bool WouldAllow() {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kClosed) return true;
    if (state_ == State::kOpen) return clock_.Now() - opened_at_ >= options_.open_for;
    return !probe_in_flight_;
  }

  void RecordSuccess() {
    absl::MutexLock lock(&mu_);
    state_ = State::kClosed;
    consecutive_failures_ = 0;
    probe_in_flight_ = false;
  }

  void RecordFailure() {
    absl::MutexLock lock(&mu_);
    probe_in_flight_ = false;
    if (state_ == State::kHalfOpen || ++consecutive_failures_ >= options_.failure_threshold) {
      state_ = State::kOpen;
      opened_at_ = clock_.Now();
      consecutive_failures_ = 0;
    }
  }

  State state() {
    absl::MutexLock lock(&mu_);
    return state_;
  }

 private:
  const Options options_;
  const Clock& clock_;
  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool probe_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time opened_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rentmesh
