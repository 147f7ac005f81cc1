#include "gateway/core/client_rate_limiter.h"

#include <algorithm>
#include <vector>

namespace rentmesh::gateway {

absl::Duration ClientRateLimiter::Admit(absl::string_view client) {
  if (limit_.per_second <= 0) return absl::ZeroDuration();
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_clients) DropIdleLocked(now);
    it = buckets_.emplace(std::string(client), Bucket{limit_.burst, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - b.at));
  b.tokens = std::min(limit_.burst, b.tokens + elapsed * limit_.per_second);
  b.at = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - b.tokens) / limit_.per_second);
}

void ClientRateLimiter::DropIdleLocked(absl::Time now) {
  std::vector<std::string> idle;
  for (const auto& [key, b] : buckets_) {
    if (b.tokens + absl::ToDoubleSeconds(now - b.at) * limit_.per_second >= limit_.burst) {
      idle.push_back(key);
    }
  }
  for (const std::string& key : idle) buckets_.erase(key);
  // Every client is busy: forget them all rather than grow without bound.
  if (buckets_.size() >= limit_.max_clients) buckets_.clear();
}

}  // namespace rentmesh::gateway
