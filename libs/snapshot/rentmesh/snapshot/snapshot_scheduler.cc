#include "rentmesh/snapshot/snapshot_scheduler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rentmesh/common/log.h"

namespace rentmesh::snapshot {

SnapshotScheduler::SnapshotScheduler(StateSnapshots& snapshots,
                                     const rocksdb_store::StateStore& store,
                                     std::function<uint64_t()> applied, Options options,
                                     SnapshotObserver* observer)
    : snapshots_(snapshots),
      store_(store),
      applied_(std::move(applied)),
      options_(options),
      observer_(observer) {}

SnapshotScheduler::~SnapshotScheduler() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void SnapshotScheduler::Start() {
  if (!enabled() || thread_.joinable()) return;
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.check_every)) RunOnce();
  });
}

bool SnapshotScheduler::Due(uint64_t newest_position, absl::Time newest_at, uint64_t applied,
                            absl::Time now) const {
  if (applied <= newest_position) return false;
  if (options_.every_events > 0 && applied - newest_position >= options_.every_events) return true;
  return options_.interval > absl::ZeroDuration() && now - newest_at >= options_.interval;
}

SnapshotScheduler::Outcome SnapshotScheduler::RunOnce() {
  const uint64_t applied = applied_();
  if (applied == 0) return Outcome::kNotDue;
  // What was last seen can only be older than the newest: not due by it,
  // not due at all.
  if (known_ && !Due(newest_position_, newest_at_, applied, absl::Now())) return Outcome::kNotDue;
  absl::StatusOr<StoredManifest> newest = snapshots_.Newest();
  if (newest.ok()) {
    // A manifest this build cannot read counts as none.
    newest_position_ = newest->manifest.ok() ? newest->manifest->position : 0;
    newest_at_ = newest->manifest.ok() ? newest->stored_at : absl::InfinitePast();
    known_ = true;
  } else if (absl::IsNotFound(newest.status())) {
    newest_position_ = 0;
    newest_at_ = absl::InfinitePast();
    known_ = true;
  } else {
    if (observer_ != nullptr) observer_->Failed(newest.status());
    LogWarn("cannot read the newest snapshot", {{"error", newest.status().ToString()}});
    return Outcome::kFailed;
  }
  if (!Due(newest_position_, newest_at_, applied, absl::Now())) {
    // Someone's snapshot covers enough of what this replica applied.
    if (newest_position_ == 0 || applied <= newest_position_) return Outcome::kNotDue;
    if (observer_ != nullptr) observer_->Skipped("recent");
    return Outcome::kRecent;
  }
  absl::StatusOr<TakenSnapshot> taken = snapshots_.Take(store_);
  if (!taken.ok()) {
    known_ = false;  // ask again next time
    if (absl::IsAborted(taken.status())) {
      if (observer_ != nullptr) observer_->Skipped("lost_race");
      LogInfo("another replica's snapshot landed first", {{"stream", snapshots_.stream_name()}});
      return Outcome::kLost;
    }
    if (observer_ != nullptr) observer_->Failed(taken.status());
    LogWarn("snapshot failed",
            {{"stream", snapshots_.stream_name()}, {"error", taken.status().ToString()}});
    return Outcome::kFailed;
  }
  newest_position_ = taken->manifest.position;
  newest_at_ = taken->manifest.created_at + taken->took;
  if (observer_ != nullptr) observer_->Taken(*taken);
  LogInfo("snapshot taken", {{"stream", snapshots_.stream_name()},
                             {"snapshot_id", taken->manifest.snapshot_id},
                             {"position", absl::StrCat(taken->manifest.position)},
                             {"keys", absl::StrCat(taken->manifest.keys)},
                             {"bytes", absl::StrCat(taken->manifest.bytes)},
                             {"seconds", absl::StrCat(absl::ToDoubleSeconds(taken->took))}});
  return Outcome::kTaken;
}

}  // namespace rentmesh::snapshot
