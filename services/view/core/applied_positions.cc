#include "core/applied_positions.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace rentmesh::view {

AppliedPositions::AppliedPositions(const std::map<std::string, uint64_t>& initial)
    : applied_(initial.begin(), initial.end()) {
  timer_ = std::thread([this] { TimerLoop(); });
}

AppliedPositions::~AppliedPositions() {
  std::list<Waiter> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    left.swap(waiters_);
  }
  timer_.join();
  for (Waiter& w : left) w.done(absl::UnavailableError("the view is shutting down"));
}

absl::Status AppliedPositions::Validate(const std::vector<StreamSequence>& positions) const {
  absl::MutexLock lock(&mu_);
  for (const StreamSequence& p : positions) {
    if (applied_.find(p.stream) == applied_.end()) {
      std::string known;
      for (const auto& [name, seq] : applied_)
        absl::StrAppend(&known, known.empty() ? "" : ", ", name);
      return absl::InvalidArgumentError(absl::StrCat("consistency_token names stream \"", p.stream,
                                                     "\", which the view does not follow (", known,
                                                     ")"));
    }
  }
  return absl::OkStatus();
}

uint64_t AppliedPositions::Applied(absl::string_view stream) const {
  absl::MutexLock lock(&mu_);
  auto it = applied_.find(stream);
  return it == applied_.end() ? 0 : it->second;
}

bool AppliedPositions::ReachedLocked(const std::vector<StreamSequence>& positions) const {
  for (const StreamSequence& p : positions) {
    auto it = applied_.find(p.stream);
    if (it == applied_.end() || it->second < p.sequence) return false;
  }
  return true;
}

std::string AppliedPositions::LagLocked(const std::vector<StreamSequence>& positions) const {
  std::string out;
  for (const StreamSequence& p : positions) {
    auto it = applied_.find(p.stream);
    uint64_t at = it == applied_.end() ? 0 : it->second;
    if (at < p.sequence) {
      absl::StrAppend(&out, out.empty() ? "" : "; ", "stream ", p.stream, " applied up to ", at,
                      ", waiting for ", p.sequence);
    }
  }
  return out;
}

void AppliedPositions::Advance(absl::string_view stream, uint64_t sequence) {
  std::vector<Done> ready;
  {
    absl::MutexLock lock(&mu_);
    auto it = applied_.find(stream);
    if (it == applied_.end()) return;
    if (sequence <= it->second) return;
    it->second = sequence;
    for (auto w = waiters_.begin(); w != waiters_.end();) {
      if (ReachedLocked(w->positions)) {
        ready.push_back(std::move(w->done));
        w = waiters_.erase(w);
      } else {
        ++w;
      }
    }
  }
  for (Done& d : ready) d(absl::OkStatus());
}

void AppliedPositions::WhenApplied(std::vector<StreamSequence> positions, absl::Time deadline,
                                   Done done) {
  absl::Status immediate;
  {
    absl::MutexLock lock(&mu_);
    if (ReachedLocked(positions)) {
      immediate = absl::OkStatus();
    } else if (stopping_) {
      immediate = absl::UnavailableError("the view is shutting down");
    } else if (deadline <= absl::Now()) {
      immediate = absl::DeadlineExceededError(LagLocked(positions));
    } else {
      waiters_.push_back(Waiter{std::move(positions), deadline, std::move(done)});
      ++generation_;
      return;
    }
  }
  done(immediate);
}

absl::Status AppliedPositions::WaitApplied(std::vector<StreamSequence> positions,
                                           absl::Time deadline) {
  absl::Mutex done_mu;
  bool finished = false;
  absl::Status result;
  WhenApplied(std::move(positions), deadline, [&](absl::Status s) {
    absl::MutexLock lock(&done_mu);
    result = std::move(s);
    finished = true;
  });
  absl::MutexLock lock(&done_mu);
  done_mu.Await(absl::Condition(&finished));
  return result;
}

void AppliedPositions::TimerLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    absl::Time next = absl::InfiniteFuture();
    for (const Waiter& w : waiters_) next = std::min(next, w.deadline);
    const uint64_t seen = generation_;
    auto woken = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || generation_ != seen;
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken), next);
    if (stopping_) break;
    const absl::Time now = absl::Now();
    std::vector<std::pair<Done, std::string>> expired;
    for (auto w = waiters_.begin(); w != waiters_.end();) {
      if (w->deadline <= now) {
        expired.emplace_back(std::move(w->done), LagLocked(w->positions));
        w = waiters_.erase(w);
      } else {
        ++w;
      }
    }
    if (expired.empty()) continue;
    mu_.Unlock();
    for (auto& [done, lag] : expired) done(absl::DeadlineExceededError(lag));
    mu_.Lock();
  }
}

}  // namespace rentmesh::view
