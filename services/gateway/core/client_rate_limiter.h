#pragma once

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rentmesh::gateway {

struct RateLimit {
  // Sustained requests per second per client; 0 turns limiting off.
  double per_second = 50;
  // Requests a client may send at once after being idle.
  double burst = 100;
  // Clients remembered at once; past it, idle buckets are dropped (a full,
  // i.e. idle, bucket carries no information).
  size_t max_clients = 100000;
};

// A token bucket per client key (its address). Thread-safe.
class ClientRateLimiter final {
 public:
  explicit ClientRateLimiter(RateLimit limit, std::function<absl::Time()> clock = &absl::Now)
      : limit_(limit), clock_(std::move(clock)) {}

  // Zero when `client` may send a request now (one token taken); otherwise
  // how long until it may (nothing taken).
  absl::Duration Admit(absl::string_view client);

 private:
  struct Bucket {
    double tokens;
    absl::Time at;
  };
  void DropIdleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimit limit_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rentmesh::gateway
