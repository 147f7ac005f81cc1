#pragma once

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rentmesh/rocksdb/state_store.h"
#include "rentmesh/snapshot/state_snapshots.h"

namespace rentmesh::snapshot {

// Sees a replica's restore and its snapshots, for metrics. Called from the
// start-up thread and the scheduler's thread.
class SnapshotObserver {
 public:
  virtual ~SnapshotObserver() = default;
  virtual void Restored(const RestoreOutcome& /*outcome*/) {}
  virtual void Taken(const TakenSnapshot& /*taken*/) {}
  // `reason`: "recent" (the newest snapshot, maybe another replica's, is
  // recent enough) or "lost_race" (another replica's landed first).
  virtual void Skipped(absl::string_view /*reason*/) {}
  virtual void Failed(const absl::Status& /*error*/) {}
};

// Takes a snapshot every `every_events` applied events or every `interval`
// (whichever comes first; 0 turns either off), on its own thread, off the
// request path. Replicas share the snapshots: one is not taken while the
// newest manifest, whoever published it, is recent enough by both rules.
class SnapshotScheduler {
 public:
  struct Options {
    uint64_t every_events = 0;
    absl::Duration interval = absl::ZeroDuration();
    // How often it asks itself whether a snapshot is due. A question to NATS
    // (the newest manifest) only when it looks due from what it knows.
    absl::Duration check_every = absl::Seconds(5);
  };
  enum class Outcome { kNotDue, kRecent, kTaken, kLost, kFailed };

  // `applied`: the position the store has applied (the follower's).
  SnapshotScheduler(StateSnapshots& snapshots, const rocksdb_store::StateStore& store,
                    std::function<uint64_t()> applied, Options options,
                    SnapshotObserver* observer = nullptr);
  ~SnapshotScheduler();
  SnapshotScheduler(const SnapshotScheduler&) = delete;
  SnapshotScheduler& operator=(const SnapshotScheduler&) = delete;

  bool enabled() const {
    return options_.every_events > 0 || options_.interval > absl::ZeroDuration();
  }
  // Starts the thread (nothing when disabled).
  void Start();
  // One decision now (the thread's step; tests call it directly).
  Outcome RunOnce();

 private:
  bool Due(uint64_t newest_position, absl::Time newest_at, uint64_t applied, absl::Time now) const;

  StateSnapshots& snapshots_;
  const rocksdb_store::StateStore& store_;
  const std::function<uint64_t()> applied_;
  const Options options_;
  SnapshotObserver* const observer_;
  // The newest manifest as last seen (only the scheduler's thread).
  bool known_ = false;
  uint64_t newest_position_ = 0;
  absl::Time newest_at_ = absl::InfinitePast();
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace rentmesh::snapshot
