#include "rentmesh/telemetry/liveness_watch.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"

namespace rentmesh::telemetry {

LivenessWatch::~LivenessWatch() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void LivenessWatch::WatchWorkPool(const WorkPool& pool, std::string name) {
  absl::MutexLock lock(&mu_);
  pools_.push_back({&pool, std::move(name)});
}

void LivenessWatch::WatchFollower(nats::JetStream& js, const nats::StreamFollower& follower,
                                  std::string stream) {
  absl::MutexLock lock(&mu_);
  followers_.push_back({&js, &follower, std::move(stream)});
}

absl::Status LivenessWatch::Check() {
  std::vector<std::string> wedged;
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  for (const Pool& p : pools_) {
    const absl::Duration waited = p.pool->OldestQueuedWait();
    const bool stuck = waited > options_.pool_bound;
    if (stuck) {
      wedged.push_back(absl::StrCat("work pool ", p.name, " not draining (oldest task queued ",
                                    absl::FormatDuration(waited), ")"));
    }
    if (metrics_ != nullptr) {
      metrics_->liveness_stalled.WithLabels({absl::StrCat("pool:", p.name)}).Set(stuck ? 1 : 0);
    }
  }
  for (Follower& f : followers_) {
    const uint64_t applied = f.follower->applied();
    if (applied != f.applied || f.since == absl::InfinitePast()) {
      f.applied = applied;
      f.since = now;
    }
    bool stuck = false;
    if (now - f.since > options_.follower_bound) {
      // Only asked once it looks stuck: a stream round trip per check.
      absl::StatusOr<uint64_t> last = f.js->LastSequence(f.stream);
      if (last.ok() && *last > applied) {
        stuck = true;
        wedged.push_back(absl::StrCat("follower of ", f.stream, " stalled at ", applied, " of ",
                                      *last, " for ", absl::FormatDuration(now - f.since)));
      } else if (last.ok()) {
        f.since = now;  // nothing to apply: idle, not stalled
      }
    }
    if (metrics_ != nullptr) {
      metrics_->liveness_stalled.WithLabels({absl::StrCat("follower:", f.stream)})
          .Set(stuck ? 1 : 0);
    }
  }
  const bool was_ok = last_.ok();
  last_ = wedged.empty() ? absl::OkStatus() : absl::UnavailableError(absl::StrJoin(wedged, "; "));
  if (was_ok && !last_.ok()) {
    const std::string why(last_.message());
    LogError("process wedged; liveness NOT_SERVING", {{"why", why}});
  } else if (!was_ok && last_.ok()) {
    LogInfo("process no longer wedged; liveness SERVING");
  }
  return last_;
}

absl::Status LivenessWatch::Last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

void LivenessWatch::WatchReadiness(std::function<absl::Status()> ready) {
  ready_ = std::move(ready);
}

void LivenessWatch::Start(GrpcServer* server) {
  thread_ = std::thread([this, server] {
    bool was_ready = true;
    while (!stop_.WaitForNotificationWithTimeout(options_.check_every)) {
      absl::Status s = Check();
      if (server == nullptr) continue;
      server->SetLive(s.ok());
      if (ready_) {
        absl::Status r = ready_();
        server->SetServing(r.ok());
        if (was_ready && !r.ok()) {
          const std::string why(r.message());
          LogWarn("not ready", {{"why", why}});
        }
        was_ready = r.ok();
      }
    }
  });
}

}  // namespace rentmesh::telemetry
